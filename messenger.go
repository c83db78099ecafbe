package messenger

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	nethttp "net/http"
	"os"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/messenger-go/messenger/adapters/auth"
	"github.com/messenger-go/messenger/adapters/fs"
	"github.com/messenger-go/messenger/adapters/http"
	"github.com/messenger-go/messenger/adapters/memory"
	"github.com/messenger-go/messenger/adapters/prometheus"
	"github.com/messenger-go/messenger/adapters/socketio"
	"github.com/messenger-go/messenger/adapters/web"
	"github.com/messenger-go/messenger/adapters/websocket"
	"github.com/messenger-go/messenger/app"
	"github.com/messenger-go/messenger/docs"
	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
	"github.com/messenger-go/messenger/realtime"
	"github.com/messenger-go/messenger/wire"
)

// Store is every store port; memory.Store and postgres.Store implement it.
type Store interface {
	ports.UserStore
	ports.FriendStore
	ports.TokenStore
	ports.MessageStore
	ports.ReceiptStore
	ports.InboxStore
	ports.AttachmentStore
	ports.DeviceStore
}

// Log is the message log; memory.Log and the Kafka adapter implement it.
type Log interface {
	ports.Publisher
	ports.Subscriber
}

// Fanout routes events to the nodes holding the receivers' sockets and
// delivers the events other nodes route here to the local hub. A Fanout that
// also implements ports.FriendshipChanges (the Redis one does) carries
// friendship changes between the nodes, so each node may cache friendships
// for longer (app.DefaultFriendshipCacheTTLWatched) and still applies a block
// made elsewhere at once; one that implements ports.AccountChanges (the Redis
// one does) makes every node refuse revoked or deleted accounts' tokens at
// once.
type Fanout interface {
	ports.Notifier
	Run(ctx context.Context) error
}

// Config chooses the node's ports. Every field is optional.
type Config struct {
	// Node names this process among the nodes of one deployment. Default: a random id.
	Node ports.NodeID
	// Store keeps users, friendships, tokens and messages. Default: memory.
	Store Store
	// Log carries sends, typing, receipts and friend events. Default: memory,
	// with the guide's partition counts.
	Log Log
	// Presence records which node holds which user's sockets; friends'
	// online state and the presence events come from it. Default: in memory
	// (a single node).
	Presence ports.Presence
	// Fanout, given the local hub, returns the cross-node notifier. Default:
	// none (events go to local sockets only).
	Fanout func(local ports.Notifier) (Fanout, error)
	// UnreadCache caches unread counts. Default: none.
	UnreadCache ports.UnreadCache
	// RateLimiter limits sends per user. Default: none.
	RateLimiter ports.RateLimiter
	// Signer signs and verifies access tokens and publishes its public keys
	// at /.well-known/jwks.json. Default: an ephemeral RSA key, which
	// invalidates every token when the process restarts.
	Signer *auth.Tokens
	// Passwords hashes passwords. Default: argon2id with OWASP costs.
	Passwords ports.PasswordHasher
	// AllowedOrigins lists the browser origins allowed to open WebSockets and
	// call the API cross-origin. Default: same origin only.
	AllowedOrigins []string
	// Checks are reported by /readyz, beside the node's own.
	Checks []ports.HealthCheck
	// Metrics collects measurements; Messenger.Metrics().Handler() serves
	// them, on a listener of the host's choosing (not Handler: a node's
	// metrics are not for the public). Default: a new registry.
	Metrics *prometheus.Metrics
	// RefreshTTL is the lifetime of refresh tokens. Default: 30 days.
	RefreshTTL time.Duration
	// RefreshReuseGrace lets a refresh token be presented again this long
	// after its first rotation (tabs refreshing at once). Default: 0, none.
	RefreshReuseGrace time.Duration
	// Guards are the limits on logins, registrations and searches, and how
	// long a token's user is known to exist. Zero fields take app's defaults;
	// a nil Guards.Throttle is an in-memory one (this node only), a nil
	// Guards.Search an in-memory DefaultSearchRate per user.
	Guards app.Guards
	// TrustedProxies are the reverse proxies (CIDRs or addresses) whose
	// X-Forwarded-For names the client, for the per-address limits.
	// Default: none; the peer's address is the client's.
	TrustedProxies []string
	// Sockets are the limits of the sockets of `GET /ws` and of Socket.IO.
	// Zero fields take the realtime package's defaults.
	Sockets SocketLimits
	// Push notifies the devices of users with no socket open
	// (app.Push). Default: off.
	Push app.Push
	// Logger receives the node's logs. Default: discard.
	Logger *slog.Logger
	// Blobs keeps the files of attachments. Default: the fs adapter in a
	// new directory under os.TempDir(), whose signed URLs this node serves.
	// A BlobStore that is also a ports.BlobServer is served under its
	// Prefix.
	Blobs ports.BlobStore
	// Attachments are the limits of attachments (size, types, how long
	// upload and download URLs work); its Store and Blobs are the node's.
	// Zero fields take app's defaults.
	Attachments app.Attachments
	// DisableWebClient stops the node from serving the browser client at
	// GET / and GET /app/ (an embedder with a client of its own). Default:
	// served.
	DisableWebClient bool
}

// SocketLimits are the limits of each node's sockets, of both transports.
type SocketLimits struct {
	// FrameRate and FrameBurst are the budget of incoming frames of each
	// socket (realtime.Timing.FrameLimit). A negative FrameRate: no
	// limit.
	FrameRate  float64
	FrameBurst int
	// PerUser caps one user's sockets on the node; the oldest beyond it is
	// closed (realtime.HubConfig.MaxSocketsPerUser). Negative: no cap.
	PerUser int
	// ReadTimeout drops a socket from which nothing came for that long
	// (realtime.Timing.ReadTimeout).
	ReadTimeout time.Duration
	// OpenRate and OpenBurst limit how often one user opens sockets on the
	// node (websocket.HandlerConfig.Opens), counted in memory. Defaults
	// DefaultSocketOpenRate and DefaultSocketOpenBurst; a negative OpenRate:
	// no limit.
	OpenRate  float64
	OpenBurst int
	// RefusalDelay holds back the 429 of a refused open
	// (websocket.HandlerConfig.RefusalDelay).
	RefusalDelay time.Duration
}

// Defaults of SocketLimits' open limit: room for a user's devices and tabs
// opening at once, then one a second.
const (
	DefaultSocketOpenRate  = 1.0
	DefaultSocketOpenBurst = 10
)

// DefaultSearchRate is the sustained rate of user searches allowed per user
// when Config.Guards.Search is nil, with bursts of DefaultSearchBurst.
const (
	DefaultSearchRate  = 1.0
	DefaultSearchBurst = 20
)

// Messenger is one node of the messenger.
type Messenger struct {
	app      *app.App
	hub      *realtime.Hub
	sio      *socketio.Handler
	log      Log
	ownLog   bool   // the node made log and closes it
	blobDir  string // the temporary directory the node made for files, removed at Shutdown
	fanout   Fanout
	metrics  *prometheus.Metrics
	handler  nethttp.Handler
	patterns []string // every "METHOD /path" Handler serves
	logger   *slog.Logger

	mu      sync.Mutex
	cancel  context.CancelFunc
	done    chan struct{}
	stopped bool
}

// New assembles a node from cfg, filling the defaults.
func New(cfg Config) (*Messenger, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.Node == "" {
		cfg.Node = ports.NodeID(domain.NewUUID())
	}
	if cfg.Store == nil {
		cfg.Store = memory.NewStore()
	}
	ownLog := cfg.Log == nil
	if ownLog {
		l, err := memory.NewLog(memory.LogConfig{Logger: cfg.Logger})
		if err != nil {
			return nil, err
		}
		cfg.Log = l
	}
	if cfg.Signer == nil {
		key, err := auth.GenerateKey(2048)
		if err != nil {
			return nil, err
		}
		if cfg.Signer, err = auth.NewTokens(auth.TokenConfig{PrivateKey: key}); err != nil {
			return nil, err
		}
	}
	if cfg.Passwords == nil {
		p, err := auth.NewPasswords(auth.PasswordConfig{})
		if err != nil {
			return nil, err
		}
		cfg.Passwords = p
	}
	if cfg.Metrics == nil {
		cfg.Metrics = prometheus.New()
	}
	if cfg.Guards.Throttle == nil {
		cfg.Guards.Throttle = memory.NewThrottle(memory.ThrottleConfig{})
	}
	if cfg.Guards.Search == nil {
		rl, err := memory.NewRateLimiter(memory.RateLimiterConfig{PerSecond: DefaultSearchRate, Burst: DefaultSearchBurst})
		if err != nil {
			return nil, err
		}
		cfg.Guards.Search = rl
	}

	if cfg.Presence == nil {
		cfg.Presence = memory.NewPresence(memory.PresenceConfig{})
	}
	var blobDir string
	if cfg.Blobs == nil {
		dir, err := os.MkdirTemp("", "messenger-blobs-")
		if err != nil {
			return nil, err
		}
		if cfg.Blobs, err = fs.New(fs.Config{Dir: dir, Logger: cfg.Logger}); err != nil {
			return nil, err
		}
		blobDir = dir
		cfg.Logger.Warn("attachments: files kept in a temporary directory, removed at shutdown", "dir", dir)
	}
	cfg.Attachments.Store, cfg.Attachments.Blobs = cfg.Store, cfg.Blobs

	// The hub tells the App of users' first and last sockets; the App is made
	// after the hub (its notifier), and before any socket can open.
	connections := &watcher{}
	hub, err := realtime.NewHub(realtime.HubConfig{Node: cfg.Node, Presence: cfg.Presence, Watcher: connections,
		MaxSocketsPerUser: cfg.Sockets.PerUser, Logger: cfg.Logger,
	})
	if err != nil {
		return nil, err
	}
	var notifier ports.Notifier = hub
	var fanout Fanout
	var changes ports.FriendshipChanges
	var accounts ports.AccountChanges
	if cfg.Fanout != nil {
		if fanout, err = cfg.Fanout(hub); err != nil {
			return nil, err
		}
		notifier = fanout
		changes, _ = fanout.(ports.FriendshipChanges)
		accounts, _ = fanout.(ports.AccountChanges)
	}
	a, err := app.New(app.Config{
		Users: cfg.Store, Friends: cfg.Store, RefreshTokens: cfg.Store,
		Messages: cfg.Store, Receipts: cfg.Store, Inbox: cfg.Store,
		Log: cfg.Log, Notifier: notifier,
		Issuer: cfg.Signer, Verifier: cfg.Signer, Passwords: cfg.Passwords,
		Unread: cfg.UnreadCache, Limiter: cfg.RateLimiter, FriendshipChanges: changes, AccountChanges: accounts,
		Metrics: cfg.Metrics, Logger: cfg.Logger, RefreshTTL: cfg.RefreshTTL,
		RefreshReuseGrace: cfg.RefreshReuseGrace, Guards: cfg.Guards,
		Presence: cfg.Presence, Node: cfg.Node, Attachments: cfg.Attachments,
		Devices: cfg.Store, Push: cfg.Push,
	})
	if err != nil {
		return nil, err
	}
	connections.app = a
	cfg.Metrics.GaugeFunc("messenger_open_sockets", "WebSockets open on this node.", func() float64 { return float64(hub.Sockets()) })
	cfg.Metrics.CounterFunc("messenger_ws_sequence_reuses_total", "Live messages that came to a socket under a sequence it had sent under another message id; delivered.",
		func() float64 { return float64(hub.SequenceReuses()) })

	api, err := http.NewHandler(http.Config{
		Service:        a,
		Keys:           cfg.Signer,
		Checks:         cfg.Checks,
		AllowedOrigins: cfg.AllowedOrigins,
		TrustedProxies: cfg.TrustedProxies,
		Logger:         cfg.Logger,
	})
	if err != nil {
		return nil, err
	}
	var opens ports.RateLimiter
	if cfg.Sockets.OpenRate >= 0 {
		if opens, err = memory.NewRateLimiter(memory.RateLimiterConfig{
			PerSecond: cmp.Or(cfg.Sockets.OpenRate, DefaultSocketOpenRate),
			Burst:     cmp.Or(cfg.Sockets.OpenBurst, DefaultSocketOpenBurst),
		}); err != nil {
			return nil, err
		}
	}
	ws, err := websocket.NewHandler(websocket.HandlerConfig{
		Hub:            hub,
		Service:        a,
		OriginPatterns: cfg.AllowedOrigins,
		Delivered:      cfg.Metrics.Delivered,
		FrameLimit:     wire.FrameLimit{PerSecond: cfg.Sockets.FrameRate, Burst: cfg.Sockets.FrameBurst},
		ReadTimeout:    cfg.Sockets.ReadTimeout,
		Opens:          opens,
		RefusalDelay:   cfg.Sockets.RefusalDelay,
		Logger:         cfg.Logger,
	})
	if err != nil {
		return nil, err
	}
	sio, err := socketio.NewHandler(socketio.HandlerConfig{
		Hub:            hub,
		Service:        a,
		Node:           cfg.Node,
		OriginPatterns: cfg.AllowedOrigins,
		Timing: realtime.Timing{
			FrameLimit:  wire.FrameLimit{PerSecond: cfg.Sockets.FrameRate, Burst: cfg.Sockets.FrameBurst},
			ReadTimeout: cfg.Sockets.ReadTimeout,
		},
		Logger:    cfg.Logger,
		Delivered: cfg.Metrics.Delivered,
	})
	if err != nil {
		return nil, err
	}
	mux := nethttp.NewServeMux()
	// Engine.IO uses GET and POST on one path, and OPTIONS for the CORS
	// preflights of long-polling: the handler takes every method.
	mux.Handle("/socket.io/", sio)
	patterns := []string{"GET /socket.io/", "POST /socket.io/"}
	for _, r := range []struct {
		pattern string
		handler nethttp.Handler
	}{
		{"GET /ws", ws},
		{"GET /openapi.yaml", docs.Handler(docs.OpenAPI())},
		{"GET /asyncapi.yaml", docs.Handler(docs.AsyncAPI())},
	} {
		mux.Handle(r.pattern, r.handler)
		patterns = append(patterns, r.pattern)
	}
	mux.Handle("/", api)
	patterns = append(patterns, api.Patterns()...)
	if bs, ok := cfg.Blobs.(ports.BlobServer); ok {
		mux.Handle(bs.Prefix(), bs.Handler())
		patterns = append(patterns, "GET "+bs.Prefix()+"{key}", "PUT "+bs.Prefix()+"{key}")
	}
	if !cfg.DisableWebClient {
		var connect []string
		if o, ok := cfg.Blobs.(interface{ Origin() string }); ok {
			connect = append(connect, o.Origin()) // the browser uploads and downloads there
		}
		client, err := web.New(web.Config{ConnectSources: connect})
		if err != nil {
			return nil, err
		}
		client.Routes(mux) // GET / and GET /app/; every other path stays the API's
	}
	return &Messenger{
		app: a, hub: hub, sio: sio, log: cfg.Log, ownLog: ownLog, blobDir: blobDir, fanout: fanout, metrics: cfg.Metrics,
		handler: cfg.Metrics.Instrument(mux), patterns: patterns, logger: cfg.Logger,
	}, nil
}

// Handler serves the REST API, /ws, /socket.io/, /healthz, /readyz, the JWKS,
// the API's descriptions (/openapi.yaml, /asyncapi.yaml) and, unless
// Config.DisableWebClient, the browser client at /. /metrics is not among
// them: serve Metrics().Handler() on a private listener.
func (m *Messenger) Handler() nethttp.Handler { return m.handler }

// Service is the node's use cases, for embedders that drive them directly.
func (m *Messenger) Service() ports.Service { return m.app }

// Metrics is the node's registry, for embedders that add gauges and serve
// /metrics.
func (m *Messenger) Metrics() *prometheus.Metrics { return m.metrics }

// Run consumes the message log's groups, keeps presence alive and receives
// cross-node events until ctx ends or Shutdown is called. It returns nil on a
// clean stop, also when Shutdown came before it. Call it once.
func (m *Messenger) Run(ctx context.Context) error {
	m.mu.Lock()
	if m.done != nil {
		m.mu.Unlock()
		return errors.New("messenger: Run called twice")
	}
	if m.stopped {
		// Shutdown came first (the goroutine running Run was scheduled late):
		// there is nothing left to run.
		m.mu.Unlock()
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	m.cancel, m.done = cancel, make(chan struct{})
	m.mu.Unlock()
	defer close(m.done)

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return m.app.RunConsumers(gctx, m.log) })
	g.Go(func() error { return m.app.RunPresence(gctx) })
	g.Go(func() error { return m.hub.Run(gctx) })
	g.Go(func() error { return m.app.RunAttachmentSweep(gctx) })
	if m.fanout != nil {
		g.Go(func() error { return m.fanout.Run(gctx) })
	}
	err := g.Wait()
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		err = nil
	}
	return err
}

// Drain ends the Socket.IO long-polling sessions, whose waiting requests
// http.Server.Shutdown would otherwise wait for; their clients reconnect
// elsewhere and resume. Register it with the server's RegisterOnShutdown.
func (m *Messenger) Drain() { m.sio.Drain() }

// Shutdown closes every socket (clients reconnect elsewhere and resume by
// sequence), then stops Run after the consumers' in-flight batches, both
// within ctx's deadline, and reports what did not finish in time. Stop the
// HTTP server from accepting first. Safe to call twice.
func (m *Messenger) Shutdown(ctx context.Context) error {
	m.mu.Lock()
	m.stopped = true
	cancel, done := m.cancel, m.done
	m.mu.Unlock()

	var errs []error
	if err := m.hub.Shutdown(ctx); err != nil {
		errs = append(errs, fmt.Errorf("messenger: close sockets: %w", err))
	}
	if cancel != nil {
		cancel()
		select {
		case <-done:
		case <-ctx.Done():
			errs = append(errs, fmt.Errorf("messenger: consumers still running: %w", ctx.Err()))
		}
	}
	if m.blobDir != "" {
		if err := os.RemoveAll(m.blobDir); err != nil {
			errs = append(errs, fmt.Errorf("messenger: remove the attachments' temporary directory: %w", err))
		}
	}
	if c, ok := m.log.(io.Closer); ok && m.ownLog {
		if err := c.Close(); err != nil {
			errs = append(errs, fmt.Errorf("messenger: close the memory log: %w", err))
		}
	}
	return errors.Join(errs...)
}

// watcher hands the hub's connection changes to the App.
type watcher struct{ app *app.App }

func (w *watcher) UserConnected(ctx context.Context, u domain.UserID) { w.app.UserConnected(ctx, u) }

func (w *watcher) UserDisconnected(ctx context.Context, u domain.UserID) {
	w.app.UserDisconnected(ctx, u)
}
