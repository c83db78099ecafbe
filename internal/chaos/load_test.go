//go:build chaos

package chaos_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/client"
	"github.com/messenger-go/messenger/domain"
)

// settings size a scenario: a steady load of rate sends a second from pairs
// senders for load, with a fault of length fault in its second quarter.
type settings struct {
	load, fault time.Duration
	rate        float64
	pairs       int
}

func settingsFromEnv(t *testing.T) settings {
	t.Helper()
	s := settings{load: 60 * time.Second, fault: 10 * time.Second, rate: 100, pairs: 20}
	if os.Getenv("MESSENGER_CHAOS_SHORT") != "" {
		s = settings{load: 14 * time.Second, fault: 4 * time.Second, rate: 40, pairs: 8}
	}
	if v := os.Getenv("MESSENGER_CHAOS_LOAD"); v != "" {
		d, err := time.ParseDuration(v)
		require.NoError(t, err, "MESSENGER_CHAOS_LOAD")
		s.load = d
	}
	if v := os.Getenv("MESSENGER_CHAOS_FAULT"); v != "" {
		d, err := time.ParseDuration(v)
		require.NoError(t, err, "MESSENGER_CHAOS_FAULT")
		s.fault = d
	}
	if v := os.Getenv("MESSENGER_CHAOS_RATE"); v != "" {
		r, err := strconv.ParseFloat(v, 64)
		require.NoError(t, err, "MESSENGER_CHAOS_RATE")
		s.rate = r
	}
	return s
}

// pair is a sender and a receiver; the receiver's socket starts on node
// home, the sender's first attempt goes to the other node.
type pair struct {
	sender, receiver string // access tokens
	receiverID       domain.UserID
	conv             domain.ConversationID
	home             int

	// the receiver's view, under run.mu
	seqs    map[domain.Sequence]bool
	highest domain.Sequence
}

// cursor is the last sequence up to which the receiver holds everything.
func (p *pair) cursor() domain.Sequence {
	var c domain.Sequence
	for p.seqs[c+1] {
		c++
	}
	return c
}

// send is one message as its sender saw it.
type send struct {
	pair          *pair
	cmid          string
	id            domain.MessageID
	start, acked  time.Time
	attempts      int
	definite      bool // answered a definite failure (4xx)
	received      time.Time
	receivedTimes int
}

// run is one scenario's load and what it saw.
type run struct {
	c     *cluster
	s     settings
	pairs []*pair
	http  *http.Client
	// firstTimeout, when set, bounds each send's first attempt, so that it
	// times out and is retried on the other node.
	firstTimeout time.Duration

	mu         sync.Mutex
	sends      []*send
	byID       map[domain.MessageID]*send
	outOfOrder int
	reconnects int
}

func newRun(t *testing.T, c *cluster, s settings) *run {
	t.Helper()
	r := &run{c: c, s: s, byID: map[domain.MessageID]*send{},
		http: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}}
	ctx := waitCtx(t, 2*time.Minute)
	for i := range s.pairs {
		p := &pair{home: i % 2, seqs: map[domain.Sequence]bool{}}
		node := client.New(c.nodes[p.home].base(), r.http)
		tag := domain.NewUUID()[:8]
		snd, ss, err := node.Register(ctx, "Send", "Er", fmt.Sprintf("s%d-%s@example.com", i, tag), "chaos-password-1")
		require.NoError(t, err)
		rcv, rs, err := node.Register(ctx, "Receive", "Er", fmt.Sprintf("r%d-%s@example.com", i, tag), "chaos-password-1")
		require.NoError(t, err)
		_, err = snd.SendFriendRequest(ctx, rs.User.ID)
		require.NoError(t, err)
		_, err = rcv.AcceptFriendRequest(ctx, ss.User.ID)
		require.NoError(t, err)
		p.sender, p.receiver, p.receiverID = ss.AccessToken, rs.AccessToken, rs.User.ID
		p.conv, err = domain.NewConversationID(ss.User.ID, rs.User.ID)
		require.NoError(t, err)
		r.pairs = append(r.pairs, p)
	}
	return r
}

// receive opens each receiver's socket, waits until all are registered, and
// keeps them reading (reconnecting with their cursor to the other node when
// a socket fails or its server stops answering pings) until ctx ends.
func (r *run) receive(t *testing.T, ctx context.Context, wg *sync.WaitGroup) {
	t.Helper()
	ready := make(chan error, len(r.pairs))
	for _, p := range r.pairs {
		wg.Go(func() { r.receiver(ctx, p, ready) })
	}
	for range r.pairs {
		require.NoError(t, <-ready)
	}
}

func (r *run) receiver(ctx context.Context, p *pair, ready chan<- error) {
	node, first := p.home, true
	for ctx.Err() == nil {
		c := client.New(r.c.nodes[node].base(), r.http).WithToken(p.receiver)
		dctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		var conn *client.Conn
		var err error
		if first {
			conn, err = c.Dial(dctx)
		} else {
			r.mu.Lock()
			cursor := map[domain.ConversationID]domain.Sequence{p.conv: p.cursor()}
			r.reconnects++
			r.mu.Unlock()
			conn, err = c.DialResume(dctx, cursor)
		}
		cancel()
		if err != nil {
			if first {
				ready <- fmt.Errorf("receiver socket: %w", err)
				return
			}
			node = 1 - node
			sleep(ctx, 200*time.Millisecond)
			continue
		}
		r.read(ctx, p, conn, first, ready)
		first = false
		node = 1 - node
	}
}

// read reads newMessage frames until the socket fails or ctx ends; a pinger
// drops the socket when its server stops answering.
func (r *run) read(ctx context.Context, p *pair, conn *client.Conn, first bool, ready chan<- error) {
	sctx, stop := context.WithCancel(ctx)
	defer stop()
	defer conn.CloseNow()
	go func() {
		for sleep(sctx, time.Second) {
			pctx, cancel := context.WithTimeout(sctx, 2*time.Second)
			err := conn.Ping(pctx)
			cancel()
			if err != nil {
				_ = conn.CloseNow()
				return
			}
		}
	}()
	for {
		f, err := conn.Next(sctx)
		if err != nil {
			if first {
				ready <- fmt.Errorf("receiver socket closed before registering: %w", err)
			}
			return
		}
		switch f.Event {
		case domain.EventRegistered:
			if first {
				ready <- nil
				first = false
			}
		case domain.EventNewMessage:
			var m domain.Message
			if err := f.Decode(&m); err == nil {
				r.got(p, m)
			}
		}
	}
}

// got records a message a receiver's socket delivered, deduplicated by id.
func (r *run) got(p *pair, m domain.Message) {
	now := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.byID[m.ID]
	if s == nil { // answered 202 after it arrived: the sender records it when its answer comes
		s = &send{pair: p, id: m.ID, cmid: m.ClientMessageID}
		r.byID[m.ID] = s
	}
	s.receivedTimes++
	if s.receivedTimes > 1 {
		return
	}
	s.received = now
	if m.Sequence < p.highest {
		r.outOfOrder++
	}
	p.highest = max(p.highest, m.Sequence)
	p.seqs[m.Sequence] = true
}

// load runs each pair's sender at the settings' rate until ctx ends; each
// send is retried, alternating nodes, with the same clientMessageId until it
// is answered 202 or a definite failure, or giveUp passes.
func (r *run) load(ctx context.Context, giveUp time.Time, wg *sync.WaitGroup) {
	interval := time.Duration(float64(time.Second) * float64(len(r.pairs)) / r.s.rate)
	for i, p := range r.pairs {
		wg.Go(func() {
			// Spread the senders over the interval.
			if !sleep(ctx, interval*time.Duration(i)/time.Duration(len(r.pairs))) {
				return
			}
			next := time.Now()
			for ctx.Err() == nil {
				r.sendOne(p, giveUp)
				next = next.Add(interval)
				if d := time.Until(next); d > 0 {
					sleep(ctx, d)
				} else {
					next = time.Now()
				}
			}
		})
	}
}

func (r *run) sendOne(p *pair, giveUp time.Time) {
	s := &send{pair: p, cmid: domain.NewUUID(), start: time.Now()}
	node := 1 - p.home
	for backoff := 100 * time.Millisecond; ; backoff = min(2*backoff, time.Second) {
		s.attempts++
		timeout := 3 * time.Second
		if s.attempts == 1 && r.firstTimeout > 0 {
			timeout = r.firstTimeout
		}
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		rec, err := client.New(r.c.nodes[node].base(), r.http).WithToken(p.sender).Send(ctx, client.SendRequest{
			ReceiverID: p.receiverID, Message: "chaos " + s.cmid[:8], ClientMessageID: s.cmid,
		})
		cancel()
		if err == nil {
			s.id, s.acked = rec.MessageID, time.Now()
			break
		}
		var ce *client.Error
		if errors.As(err, &ce) && ce.Status >= 400 && ce.Status < 500 && ce.Status != http.StatusTooManyRequests && ce.Status != http.StatusRequestTimeout {
			s.definite = true
			break
		}
		if time.Now().After(giveUp) {
			break
		}
		node = 1 - node // a client whose retries cross nodes
		time.Sleep(backoff)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if s.id != "" {
		if early := r.byID[s.id]; early != nil { // delivered before its answer came
			s.received, s.receivedTimes = early.received, early.receivedTimes
		}
		r.byID[s.id] = s
	}
	r.sends = append(r.sends, s)
}

// drained reports whether every acknowledged message reached its receiver.
func (r *run) drained() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range r.sends {
		if !s.acked.IsZero() && r.byID[s.id].receivedTimes == 0 {
			return false
		}
	}
	return true
}

// stored is a row of the chats table.
type stored struct {
	id, sender, cmid string
	conv             domain.ConversationID
	seq              domain.Sequence
}

func (r *run) storedRows(t *testing.T) []stored {
	t.Helper()
	ctx := waitCtx(t, time.Minute)
	conn, err := pgx.Connect(ctx, r.c.dsn)
	require.NoError(t, err)
	defer conn.Close(context.Background())
	rows, err := conn.Query(ctx, `SELECT message_id::text, sender_id::text, client_message_id, conversation_id, sequence_id FROM chats`)
	require.NoError(t, err)
	var out []stored
	for rows.Next() {
		var s stored
		require.NoError(t, rows.Scan(&s.id, &s.sender, &s.cmid, &s.conv, &s.seq))
		out = append(out, s)
	}
	require.NoError(t, rows.Err())
	return out
}

// result is what a scenario measured and which invariants it broke.
type result struct {
	acked, retried, definite int
	outage                   time.Duration // the longest any send waited for its 202
	p99, maxDelivery         time.Duration // send start to first delivery
	backlog                  time.Duration // from the fault's end until what was sent before it was delivered
	lost, duplicated, order  int
	violations               []string
}

func (r *run) check(t *testing.T, faultEnd time.Time) result {
	t.Helper()
	rows := r.storedRows(t)
	r.mu.Lock()
	defer r.mu.Unlock()
	var res result
	fail := func(format string, args ...any) {
		res.violations = append(res.violations, fmt.Sprintf(format, args...))
	}

	byID := map[string]int{}
	byCmid := map[string]int{}
	seqs := map[domain.ConversationID][]domain.Sequence{}
	for _, s := range rows {
		byID[s.id]++
		byCmid[s.sender+"/"+s.cmid]++
		seqs[s.conv] = append(seqs[s.conv], s.seq)
	}
	storedCmid := map[string]bool{}
	for _, s := range rows {
		storedCmid[s.cmid] = true
	}
	var lat []time.Duration
	for _, s := range r.sends {
		switch {
		case !s.acked.IsZero():
			res.acked++
			res.outage = max(res.outage, s.acked.Sub(s.start))
			if s.attempts > 1 {
				res.retried++
			}
			if byID[string(s.id)] == 0 {
				res.lost++
				fail("I1: %s answered 202 is not stored", s.id)
			}
			if s.receivedTimes == 0 {
				res.lost++
				fail("I6: %s answered 202 never reached its receiver", s.id)
			} else {
				lat = append(lat, s.received.Sub(s.start))
				if s.start.Before(faultEnd) {
					res.backlog = max(res.backlog, s.received.Sub(faultEnd))
				}
			}
		case s.definite:
			res.definite++
			if storedCmid[s.cmid] {
				fail("I3: %s was answered a definite failure and is stored", s.cmid)
			}
		default:
			res.outage = max(res.outage, time.Since(s.start))
		}
	}
	for id, n := range byID {
		if n > 1 {
			res.duplicated += n - 1
			fail("I2: message %s stored %d times", id, n)
		}
	}
	for k, n := range byCmid {
		if n > 1 {
			fail("I2/I8: sender/clientMessageId %s stored %d times", k, n)
		}
	}
	for conv, ss := range seqs {
		slices.Sort(ss)
		for i, s := range ss {
			if s != domain.Sequence(i+1) {
				fail("I4: conversation %s: sequences %v are not 1..%d", conv, ss, len(ss))
				break
			}
		}
	}
	for _, s := range rows {
		if m := r.byID[domain.MessageID(s.id)]; m == nil || m.receivedTimes == 0 {
			fail("I6/I7: stored message %s (sequence %d) never reached its receiver", s.id, s.seq)
		}
	}
	if r.outOfOrder > 0 {
		res.order = r.outOfOrder
		fail("I5: %d messages reached their receiver after a later one", r.outOfOrder)
	}
	if res.acked == 0 || len(lat) == 0 {
		fail("the load got nothing through: %d sends, none delivered", len(r.sends))
	}
	slices.Sort(lat)
	if len(lat) > 0 {
		res.p99 = lat[min(len(lat)-1, len(lat)*99/100)]
		res.maxDelivery = lat[len(lat)-1]
	}
	return res
}

// sleep waits d or until ctx ends, and reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return true
	case <-ctx.Done():
		return false
	}
}
