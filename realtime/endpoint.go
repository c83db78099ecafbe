package realtime

import (
	"context"
	"log/slog"
	"time"

	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
	"github.com/messenger-go/messenger/wire"
)

// Defaults of Config.
const (
	DefaultPingInterval   = 25 * time.Second
	DefaultPingTimeout    = 15 * time.Second
	DefaultWriteTimeout   = 10 * time.Second
	DefaultRequestTimeout = 10 * time.Second
	DefaultResumeGrace    = time.Second
)

// MaxSendsInFlight bounds the `send` events of one socket waiting for the
// log's acknowledgement; the socket's reader waits for a free slot when all
// are taken, which slows a client that sends faster than the log accepts.
const MaxSendsInFlight = 32

// Config configures an Endpoint: the rules every socket of one transport's
// handler follows. The transports' handler configs fill it.
type Config struct {
	// Hub registers the sockets. Required.
	Hub *Hub
	// Service authenticates connections and serves incoming events and
	// replays. Required.
	Service ports.Service
	Timing
	// Logger receives connection problems. Nil discards them.
	Logger *slog.Logger
	// Name prefixes the endpoint's log messages ("websocket", "socketio").
	Name string
	// Delivered, when set, is called with a message's send time each time a
	// live newMessage frame has been written to a socket (end-to-end
	// latency). It runs on the socket's writer: it must be quick.
	Delivered func(sentAt time.Time)
}

// Timing paces an endpoint's sockets: heartbeats, timeouts, replay pages and
// the wait for a resume. Zero fields take the defaults.
type Timing struct {
	// PingInterval is how often the server pings each socket. Default DefaultPingInterval.
	PingInterval time.Duration
	// PingTimeout is how long the answer to a ping may take before the
	// connection is dropped as dead. Default DefaultPingTimeout.
	PingTimeout time.Duration
	// WriteTimeout bounds each frame write; a client that does not take a
	// frame in time is dropped. Default DefaultWriteTimeout.
	WriteTimeout time.Duration
	// ReadTimeout drops a socket from which nothing, no frame and no pong,
	// has come for that long: a peer that vanished, or one that trickles a
	// frame in byte by byte. Default two PingIntervals and a PingTimeout,
	// which a client that answers pings never reaches.
	ReadTimeout time.Duration
	// FrameLimit is the budget of incoming frames of each socket; its zero
	// fields take wire's defaults, a negative PerSecond means none. Frames
	// beyond it are dropped unserved and the client is warned with `error`
	// (code rate_limited) at most once a second; a client that goes on past
	// the tolerance is closed with 1008 (CloseRateLimited).
	FrameLimit wire.FrameLimit
	// RequestTimeout bounds each Service call made for a socket (one incoming
	// event, one history page). Default DefaultRequestTimeout.
	RequestTimeout time.Duration
	// ReplayPageSize is how many messages one history call of a replay or gap
	// fill reads, at most domain.MaxPageLimit (the default).
	ReplayPageSize int
	// ResumeGrace is how long a new socket whose client announced a resume
	// holds back live newMessage frames while waiting for it, so that a
	// reconnecting client gets its replay before anything newer (sequence
	// order). A resume (an empty one included) ends the wait at once; a
	// client that announced none never waits. Default DefaultResumeGrace;
	// negative means no wait.
	ResumeGrace time.Duration
}

// Endpoint holds what the sockets of one transport's handler share: the
// rules of Config and the clock that paces them. It is safe for concurrent use.
type Endpoint struct {
	cfg   Config
	log   *slog.Logger
	clock *clock
	// rateLimited is the warning frame of FrameLimit, encoded once.
	rateLimited *Frame
}

// NewEndpoint returns an Endpoint with defaults filled in.
// Errors: KindInvalid for a missing Hub or Service or a value out of range.
func NewEndpoint(cfg Config) (*Endpoint, error) {
	if cfg.Hub == nil || cfg.Service == nil {
		return nil, domain.Errorf(domain.KindInvalid, "%s: Hub and Service are required", cfg.Name)
	}
	if cfg.PingInterval < 0 || cfg.PingTimeout < 0 || cfg.WriteTimeout < 0 || cfg.ReadTimeout < 0 ||
		cfg.RequestTimeout < 0 || cfg.ReplayPageSize < 0 || cfg.ReplayPageSize > domain.MaxPageLimit {
		return nil, domain.Errorf(domain.KindInvalid, "%s: config value out of range", cfg.Name)
	}
	fill := func(d *time.Duration, def time.Duration) {
		if *d == 0 {
			*d = def
		}
	}
	fill(&cfg.PingInterval, DefaultPingInterval)
	fill(&cfg.PingTimeout, DefaultPingTimeout)
	fill(&cfg.WriteTimeout, DefaultWriteTimeout)
	fill(&cfg.RequestTimeout, DefaultRequestTimeout)
	fill(&cfg.ReadTimeout, 2*cfg.PingInterval+cfg.PingTimeout)
	limit, err := cfg.FrameLimit.WithDefaults()
	if err != nil {
		return nil, err
	}
	cfg.FrameLimit = limit
	rateLimited, err := NewFrame(wire.RateLimitedEvent(cfg.FrameLimit))
	if err != nil {
		return nil, err
	}
	switch {
	case cfg.ResumeGrace == 0:
		cfg.ResumeGrace = DefaultResumeGrace
	case cfg.ResumeGrace < 0:
		cfg.ResumeGrace = 0
	}
	if cfg.ReplayPageSize == 0 {
		cfg.ReplayPageSize = domain.MaxPageLimit
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	e := &Endpoint{cfg: cfg, log: log, rateLimited: rateLimited}
	e.clock = newClock(&e.cfg)
	return e, nil
}

// Authenticate verifies the access token a socket is opened with and returns
// its user and when the token expires (zero: never). A malformed token is a
// missing credential. Errors: KindUnauthenticated, KindUnavailable, and
// KindInternal, which is logged.
func (e *Endpoint) Authenticate(ctx context.Context, token string) (domain.UserID, time.Time, error) {
	user, expires, err := e.cfg.Service.Authenticate(ctx, token)
	if err == nil {
		return user, expires, nil
	}
	switch domain.KindOf(err) {
	case domain.KindInternal:
		e.log.Error(e.cfg.Name+": authenticate", "err", err)
	case domain.KindInvalid:
		err = domain.Wrap(domain.KindUnauthenticated, err, domain.MessageOf(err))
	}
	return "", time.Time{}, err
}

// Logger is the endpoint's logger, never nil.
func (e *Endpoint) Logger() *slog.Logger { return e.log }

// Config returns the endpoint's configuration, defaults filled in.
func (e *Endpoint) Config() Config { return e.cfg }

// SetClock makes the endpoint read token expiries, ping due times and write
// durations against now instead of the wall clock, for tests that move time
// by hand. Call it before the endpoint serves a socket.
func (e *Endpoint) SetClock(now func() time.Time) {
	e.clock.now, e.clock.epoch = now, now()
}

// SetManualClock is SetClock for a clock that does not run on its own: the
// pings, expiries and timeouts are acted on only when the test calls the
// returned step with the time to act at.
func (e *Endpoint) SetManualClock(now func() time.Time) (step func(time.Time)) {
	e.SetClock(now)
	e.clock.manual = true
	return func(t time.Time) { e.clock.step(t) }
}
