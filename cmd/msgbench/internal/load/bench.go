package load

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"golang.org/x/sync/errgroup"

	"github.com/messenger-go/messenger/adapters/auth"
	"github.com/messenger-go/messenger/client"
	"github.com/messenger-go/messenger/cmd/msgbench/internal/measure"
	"github.com/messenger-go/messenger/cmd/msgbench/internal/report"
	"github.com/messenger-go/messenger/domain"
)

// User is one simulated user: an account, a token, a server, a friend and
// (once connected) a socket.
type User struct {
	Index  int
	ID     domain.UserID
	Token  string
	Target int
	Peer   *User
	Conv   domain.ConversationID

	auth string // "Bearer <token>"

	mu     sync.Mutex // guards stream and conn
	stream measure.Stream
	conn   *websocket.Conn
	acked  int64
}

// Bench is a population of users connected to the servers, and the steps run
// with it.
type Bench struct {
	cfg    Config
	dialer *dialer
	setup  *http.Client // register, friends, /metrics
	send   *poster      // the hot path
	ws     *http.Client // WebSocket handshakes
	sem    chan struct{}

	ctx    context.Context // ends in Close
	cancel context.CancelFunc
	wg     sync.WaitGroup // socket readers, sampler, acker

	users   []*User
	sampler *sampler

	held       atomic.Int64
	failed     atomic.Int64 // sockets that did not open during Setup
	connected  atomic.Bool  // Setup has tried every socket
	reconnects atomic.Int64
	foreign    atomic.Int64

	// answers waits for the answers of sends over sockets, by clientMessageId.
	answers sync.Map // string -> chan socketAnswer

	mu       sync.Mutex
	steps    []*stepState
	sockErrs map[string]int64
	result   report.Run
	closed   bool
}

// New returns a Bench for cfg; nothing is contacted before Setup.
func New(cfg Config) (*Bench, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	d := &dialer{sources: cfg.SourceIPs}
	send, err := newPoster(cfg.Targets, d.DialContext)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	b := &Bench{
		cfg:      cfg,
		dialer:   d,
		setup:    &http.Client{Transport: transport(d, cfg.SetupConcurrency), Timeout: 30 * time.Second},
		send:     send,
		ws:       &http.Client{Transport: transport(d, cfg.DialConcurrency)},
		sem:      make(chan struct{}, cfg.MaxInFlight),
		ctx:      ctx,
		cancel:   cancel,
		sockErrs: map[string]int64{},
		result: report.Run{
			Started:  time.Now(),
			Targets:  cfg.Targets,
			Users:    cfg.Users,
			SendOver: cfg.SendOver,
		},
	}
	b.sampler = newSampler(cfg, b.setup, func() int { return int(b.held.Load()) })
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		b.sampler.run(ctx)
	}()
	return b, nil
}

// Users returns the population (after Setup).
func (b *Bench) Users() []*User {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.users
}

// Connecting reports the sockets that did not open so far and whether every
// socket was tried.
func (b *Bench) Connecting() (failed int64, done bool) {
	return b.failed.Load(), b.connected.Load()
}

// SocketErrors counts socket problems by kind.
func (b *Bench) SocketErrors() map[string]int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return maps.Clone(b.sockErrs)
}

// Held is the number of sockets open now.
func (b *Bench) Held() int { return int(b.held.Load()) }

// Setup creates the users (registering and befriending them when configured),
// mints their tokens and opens their sockets. Sockets that fail to open are
// counted, not fatal; a user that cannot be created is fatal.
func (b *Bench) Setup(ctx context.Context) error {
	log := b.cfg.Logger
	n := b.cfg.Users
	users := make([]*User, n)
	for i := range users {
		users[i] = &User{Index: i, Target: i % len(b.cfg.Targets)}
	}
	b.mu.Lock()
	b.users = users
	b.mu.Unlock()
	var setup report.Setup

	if b.cfg.Register {
		t := time.Now()
		log.Info("registering users", "users", n)
		if err := b.register(ctx); err != nil {
			return err
		}
		setup.RegisterSeconds = time.Since(t).Seconds()
	} else {
		for _, u := range users {
			u.ID = domain.UserID(domain.NewUUID())
		}
	}
	if len(b.cfg.KeyPEM) > 0 {
		t := time.Now()
		if err := b.mint(ctx); err != nil {
			return err
		}
		setup.MintSeconds = time.Since(t).Seconds()
	}
	for p := 0; p < n/2; p++ {
		a, c := users[2*p], users[2*p+1]
		a.Peer, c.Peer = c, a
		conv, err := domain.NewConversationID(a.ID, c.ID)
		if err != nil {
			return fmt.Errorf("conversation of users %d and %d: %w", 2*p, 2*p+1, err)
		}
		a.Conv, c.Conv = conv, conv
	}
	for _, u := range users {
		u.auth = "Bearer " + u.Token
	}
	if b.cfg.Register && !b.cfg.Strangers {
		t := time.Now()
		log.Info("making friends", "pairs", n/2)
		if err := b.befriend(ctx); err != nil {
			return err
		}
		setup.FriendSeconds = time.Since(t).Seconds()
	}

	before := b.sampler.serverNow()
	t := time.Now()
	log.Info("opening sockets", "users", n)
	lat, failed := b.connectAll(ctx)
	setup.ConnectSeconds = time.Since(t).Seconds()
	setup.Connect = report.FromSummary(measure.Summarize(lat))
	setup.ConnectFailures = failed
	setup.SocketsHeld = b.Held()
	b.connected.Store(true)
	// Let the servers settle (presence writes, buffers) before reading memory.
	sleep(ctx, b.cfg.Settle)
	after := b.sampler.serverNow()
	if before.RSS > 0 && after.RSS > 0 && b.Held() > 0 {
		setup.ServerRSSBefore = before.RSS
		setup.ServerRSSAfter = after.RSS
		setup.RSSPerSocketBytes = float64(after.RSS-before.RSS) / float64(b.Held())
	}
	log.Info("sockets open", "held", b.Held(), "failed", failed, "seconds", setup.ConnectSeconds)
	if b.cfg.Register && !b.cfg.Strangers {
		t := time.Now()
		log.Info("opening conversations", "pairs", n/2)
		if err := b.openConversations(ctx); err != nil {
			return err
		}
		setup.OpenSeconds = time.Since(t).Seconds()
	}
	if b.cfg.AfterSetup != nil {
		t := time.Now()
		log.Info("running the after-setup hook")
		if err := b.cfg.AfterSetup(ctx); err != nil {
			return fmt.Errorf("after setup: %w", err)
		}
		setup.AfterSetupSeconds = time.Since(t).Seconds()
	}
	b.mu.Lock()
	b.result.Setup = setup
	b.mu.Unlock()
	if b.cfg.AckEvery > 0 {
		b.wg.Add(1)
		go b.ackLoop()
	}
	return ctx.Err()
}

// parallel runs f(i) for i in [0, n) with at most conc at once, stopping at
// the first error.
func parallel(ctx context.Context, n, conc int, f func(ctx context.Context, i int) error) error {
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(conc)
	for i := 0; i < n; i++ {
		if ctx.Err() != nil {
			break
		}
		g.Go(func() error { return f(ctx, i) })
	}
	return g.Wait()
}

// retry calls f up to 8 times, pausing longer each time, while it fails
// with something other than a refusal: no answer, a 5xx (a server busy
// checking passwords, say) or a 429 (one pacing registrations).
func retry(ctx context.Context, f func() error) error {
	var err error
	for attempt := 0; attempt < 8; attempt++ {
		if err = f(); err == nil {
			return nil
		}
		var apiErr *client.Error
		if errors.As(err, &apiErr) && apiErr.Status < 500 && apiErr.Status != http.StatusTooManyRequests {
			return err
		}
		sleep(ctx, min(200*time.Millisecond<<attempt, 5*time.Second))
	}
	return err
}

func (b *Bench) register(ctx context.Context) error {
	return parallel(ctx, len(b.users), b.cfg.SetupConcurrency, func(ctx context.Context, i int) error {
		u := b.users[i]
		c := client.New(b.cfg.Targets[u.Target], b.setup)
		email := fmt.Sprintf("mb-%s-%d@bench.example", b.cfg.RunID, i)
		return retry(ctx, func() error {
			_, s, err := c.Register(ctx, "Bench", fmt.Sprintf("User %d", i), email, b.cfg.Password)
			if err != nil {
				var apiErr *client.Error
				if errors.As(err, &apiErr) && apiErr.Status == http.StatusConflict {
					// A retry after a lost answer: the account exists.
					_, s, err = c.Login(ctx, email, b.cfg.Password)
				}
				if err != nil {
					return fmt.Errorf("register user %d: %w", i, err)
				}
			}
			u.ID, u.Token = s.User.ID, s.AccessToken
			return nil
		})
	})
}

func (b *Bench) befriend(ctx context.Context) error {
	return parallel(ctx, len(b.users)/2, b.cfg.SetupConcurrency, func(ctx context.Context, p int) error {
		a, c := b.users[2*p], b.users[2*p+1]
		ca := client.New(b.cfg.Targets[a.Target], b.setup).WithToken(a.Token)
		cc := client.New(b.cfg.Targets[c.Target], b.setup).WithToken(c.Token)
		var apiErr *client.Error
		err := retry(ctx, func() error {
			_, err := ca.SendFriendRequest(ctx, c.ID)
			if errors.As(err, &apiErr) && apiErr.Status == http.StatusConflict {
				return nil // sent by an earlier attempt
			}
			return err
		})
		if err != nil {
			return fmt.Errorf("friend request %d -> %d: %w", 2*p, 2*p+1, err)
		}
		err = retry(ctx, func() error {
			_, err := cc.AcceptFriendRequest(ctx, a.ID)
			if errors.As(err, &apiErr) && apiErr.Status == http.StatusConflict {
				return nil
			}
			return err
		})
		if err != nil {
			return fmt.Errorf("accept %d -> %d: %w", 2*p, 2*p+1, err)
		}
		return nil
	})
}

// openConversations sends one message in every pair's conversation and waits
// until every held socket saw its conversation's first message. The first
// message of a conversation creates its rows: a one-time cost of a new
// conversation, which would otherwise land in the first step's window (with
// 10,000 users, 5,000 conversations opening at once) instead of the steady
// state the steps measure.
func (b *Bench) openConversations(ctx context.Context) error {
	err := parallel(ctx, len(b.users)/2, b.cfg.SetupConcurrency, func(ctx context.Context, p int) error {
		a, c := b.users[2*p], b.users[2*p+1]
		ca := client.New(b.cfg.Targets[a.Target], b.setup).WithToken(a.Token)
		req := client.SendRequest{ReceiverID: c.ID, Message: "hello", MessageType: "text", ClientMessageID: openMessageID(b.cfg.RunID, p)}
		// A retry with the same clientMessageId is stored once.
		if err := retry(ctx, func() error { _, err := ca.Send(ctx, req); return err }); err != nil {
			return fmt.Errorf("first message %d -> %d: %w", 2*p, 2*p+1, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	wait := openWait + time.Duration(len(b.users))*time.Millisecond
	deadline := time.Now().Add(wait)
	for {
		pending := 0
		for _, u := range b.users {
			u.mu.Lock()
			if u.conn != nil && u.stream.Max() < 1 {
				pending++
			}
			u.mu.Unlock()
		}
		if pending == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d sockets did not get their conversation's first message within %s", pending, wait)
		}
		sleep(ctx, 50*time.Millisecond)
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}

// openWait is the least time openConversations waits for the first messages
// to arrive; it grows by 1 ms per user.
const openWait = 30 * time.Second

// mint signs an access token per user with the servers' key, on every core.
func (b *Bench) mint(ctx context.Context) error {
	tokens, err := auth.NewTokens(auth.TokenConfig{PrivateKeyPEM: b.cfg.KeyPEM, AccessTTL: b.cfg.TokenTTL, CacheSize: -1})
	if err != nil {
		return fmt.Errorf("signing key: %w", err)
	}
	return parallel(ctx, len(b.users), runtime.GOMAXPROCS(0), func(ctx context.Context, i int) error {
		tok, _, err := tokens.IssueAccessToken(ctx, b.users[i].ID)
		if err != nil {
			return fmt.Errorf("mint token %d: %w", i, err)
		}
		b.users[i].Token = tok
		return nil
	})
}

// Close closes every socket and stops the generator's goroutines. It returns
// the run's result. It can be called twice.
func (b *Bench) Close() report.Run {
	b.mu.Lock()
	already := b.closed
	b.closed = true
	b.mu.Unlock()
	if !already {
		b.cancel()
		for _, u := range b.Users() {
			u.mu.Lock()
			if u.conn != nil {
				_ = u.conn.CloseNow()
			}
			u.mu.Unlock()
		}
		b.wg.Wait()
		b.send.closeIdle()
		b.setup.CloseIdleConnections()
	}
	return b.Result()
}

// Result is the run so far.
func (b *Bench) Result() report.Run {
	b.mu.Lock()
	defer b.mu.Unlock()
	r := b.result
	r.Notes = slices.Clone(r.Notes)
	r.Steps = nil
	saturated := false
	for _, st := range b.steps {
		if st.result == nil {
			continue
		}
		r.Steps = append(r.Steps, *st.result)
		// Sustained: the highest rate below the first saturated step.
		saturated = saturated || st.result.Saturated
		if !saturated && st.result.Rate > r.HighestSustained {
			r.HighestSustained = st.result.Rate
		}
	}
	var missing int64
	for _, u := range b.users { // users and their streams are only read here, under locks
		u.mu.Lock()
		missing += u.stream.Missing()
		u.mu.Unlock()
	}
	r.MissingSequences = missing
	r.Reconnects = b.reconnects.Load()
	r.SocketErrors = maps.Clone(b.sockErrs)
	if f := b.foreign.Load(); f > 0 {
		r.Notes = append(r.Notes, fmt.Sprintf("%d newMessage frames carried a clientMessageId of no send of this run", f))
	}
	return r
}

func (b *Bench) countSocketError(kind string) {
	b.mu.Lock()
	b.sockErrs[kind]++
	b.mu.Unlock()
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
