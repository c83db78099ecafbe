package redis

import (
	"cmp"
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
)

// Defaults of Config. They keep every call short during a failover: a dead
// master refuses or times out within a second and the caller gets
// KindUnavailable, while Sentinel promotes the replica.
const (
	DefaultDialTimeout      = 500 * time.Millisecond
	DefaultReadTimeout      = 500 * time.Millisecond
	DefaultWriteTimeout     = 500 * time.Millisecond
	DefaultOperationTimeout = time.Second
	DefaultMaxRetries       = 1
)

// Config says how to reach Redis. Either MasterName and Sentinels (production:
// the client asks the Sentinels for the current master and follows failovers)
// or Addr (one server) must be set.
type Config struct {
	// Addr is host:port of a single Redis server. Ignored when MasterName is set.
	Addr string
	// MasterName is the name the Sentinels monitor the master under ("mymaster").
	MasterName string
	// Sentinels are host:port addresses of the Sentinels; the client discovers
	// more from them.
	Sentinels []string
	// Username and Password authenticate to the Redis servers (AUTH); empty for none.
	Username string
	Password string
	// SentinelPassword authenticates to the Sentinels themselves (their
	// requirepass). It is separate from Password because Sentinels usually
	// run without one, and AUTH against a server without a password fails.
	SentinelPassword string
	// DB is the database number.
	DB int
	// KeyPrefix starts every key and channel this package uses, so several
	// deployments (or tests) can share one Redis.
	KeyPrefix string
	// ClientName, when set, names this client's connections (CLIENT SETNAME),
	// so that CLIENT LIST shows which node holds which connection.
	ClientName string

	// DialTimeout, ReadTimeout and WriteTimeout bound each network step
	// (defaults 500 ms each).
	DialTimeout  time.Duration
	ReadTimeout  time.Duration
	WriteTimeout time.Duration
	// OperationTimeout bounds a whole call of this package, retries included
	// (default 1 s). The caller's context may end it sooner.
	OperationTimeout time.Duration
	// MaxRetries is how many times a failed command is retried on a network
	// error (default 1; negative means never).
	MaxRetries int
	// PoolSize is the number of connections per CPU-sized pool; zero uses
	// the go-redis default (10 per GOMAXPROCS).
	PoolSize int

	// Logger receives warnings (lost subscriptions, undecodable values);
	// nil discards them.
	Logger *slog.Logger
}

// Client is a connection pool to Redis shared by this package's adapters.
type Client struct {
	rdb     *goredis.Client
	prefix  string
	timeout time.Duration
	log     *slog.Logger

	closeOnce sync.Once
	closeErr  error
}

// Open validates cfg, fills its defaults and returns a client. It does no I/O:
// connections are made on first use (use Ping to check the server is there).
func Open(cfg Config) (*Client, error) {
	cfg.DialTimeout = cmp.Or(cfg.DialTimeout, DefaultDialTimeout)
	cfg.ReadTimeout = cmp.Or(cfg.ReadTimeout, DefaultReadTimeout)
	cfg.WriteTimeout = cmp.Or(cfg.WriteTimeout, DefaultWriteTimeout)
	cfg.OperationTimeout = cmp.Or(cfg.OperationTimeout, DefaultOperationTimeout)
	switch {
	case cfg.MaxRetries == 0:
		cfg.MaxRetries = DefaultMaxRetries
	case cfg.MaxRetries < 0:
		cfg.MaxRetries = -1 // go-redis: no retries
	}
	switch {
	case cfg.MasterName == "" && cfg.Addr == "":
		return nil, domain.Errorf(domain.KindInvalid, "redis: either Addr or MasterName and Sentinels must be set")
	case cfg.MasterName != "" && len(cfg.Sentinels) == 0:
		return nil, domain.Errorf(domain.KindInvalid, "redis: MasterName %q needs at least one Sentinel address", cfg.MasterName)
	case cfg.DialTimeout < 0 || cfg.ReadTimeout < 0 || cfg.WriteTimeout < 0 || cfg.OperationTimeout < 0:
		return nil, domain.Errorf(domain.KindInvalid, "redis: timeouts must not be negative")
	case cfg.DB < 0:
		return nil, domain.Errorf(domain.KindInvalid, "redis: DB must not be negative")
	case cfg.PoolSize < 0:
		return nil, domain.Errorf(domain.KindInvalid, "redis: PoolSize must not be negative")
	}
	if strings.ContainsFunc(cfg.ClientName, refusedInClientName) {
		return nil, domain.Errorf(domain.KindInvalid, "redis: ClientName %q may hold only printable ASCII without spaces", cfg.ClientName)
	}
	for _, s := range cfg.Sentinels {
		if strings.TrimSpace(s) == "" {
			return nil, domain.Errorf(domain.KindInvalid, "redis: empty Sentinel address")
		}
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}

	// One set of options for both topologies: Failover reads Addrs as the
	// Sentinels, Simple as the one server.
	opts := &goredis.UniversalOptions{
		Addrs:                 []string{cfg.Addr},
		MasterName:            cfg.MasterName,
		SentinelPassword:      cfg.SentinelPassword,
		Username:              cfg.Username,
		Password:              cfg.Password,
		DB:                    cfg.DB,
		ClientName:            cfg.ClientName,
		MaxRetries:            cfg.MaxRetries,
		MinRetryBackoff:       20 * time.Millisecond,
		MaxRetryBackoff:       100 * time.Millisecond,
		DialTimeout:           cfg.DialTimeout,
		DialerRetries:         1,
		DialerRetryTimeout:    50 * time.Millisecond,
		ReadTimeout:           cfg.ReadTimeout,
		WriteTimeout:          cfg.WriteTimeout,
		ContextTimeoutEnabled: true,
		PoolSize:              cfg.PoolSize,
		PoolTimeout:           cfg.OperationTimeout,
	}
	var rdb *goredis.Client
	if cfg.MasterName != "" {
		opts.Addrs = append([]string(nil), cfg.Sentinels...)
		rdb = goredis.NewFailoverClient(opts.Failover())
	} else {
		rdb = goredis.NewClient(opts.Simple())
	}
	return &Client{rdb: rdb, prefix: cfg.KeyPrefix, timeout: cfg.OperationTimeout, log: log}, nil
}

// Ping checks that the (current master) server answers.
// Errors: KindUnavailable.
func (c *Client) Ping(ctx context.Context) error {
	ctx, cancel := c.bound(ctx)
	defer cancel()
	return translate(c.rdb.Ping(ctx).Err())
}

// HealthCheck reports on Redis for /readyz.
func (c *Client) HealthCheck() ports.HealthCheck {
	return ports.HealthCheck{Name: "redis", Check: c.Ping}
}

// Close closes the connections. Adapters built on the client stop working.
// Safe to call more than once.
func (c *Client) Close() error {
	c.closeOnce.Do(func() { c.closeErr = c.rdb.Close() })
	return c.closeErr
}

// refusedInClientName tells whether CLIENT SETNAME refuses r: spaces, control
// and non-ASCII characters.
func refusedInClientName(r rune) bool { return r <= ' ' || r > '~' }

// NodeClientName is the connection name of a server node: "messenger:" and
// the node id, with what CLIENT SETNAME refuses replaced by '_'.
func NodeClientName(node string) string {
	return "messenger:" + strings.Map(func(r rune) rune {
		if refusedInClientName(r) {
			return '_'
		}
		return r
	}, node)
}

// key joins the prefix and the parts of a key name.
func (c *Client) key(kind string, id string) string {
	return c.prefix + kind + ":" + id
}

// bound limits ctx to the operation timeout.
func (c *Client) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, c.timeout)
}

// translate turns a go-redis error into a domain error: anything that says
// the server cannot be reached or cannot take writes right now (network
// errors, timeouts, a closed pool, READONLY or LOADING during a failover) is
// KindUnavailable; any other reply error is a bug (KindInternal).
func translate(err error) error {
	if err == nil {
		return nil
	}
	var rerr goredis.Error
	if errors.As(err, &rerr) && !transientReply(rerr.Error()) {
		return domain.Wrap(domain.KindInternal, err, "")
	}
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF // io.EOF alone reads as a clean end to callers
	}
	return domain.Wrap(domain.KindUnavailable, err, "redis unavailable")
}

// transientReplies start the reply errors a failover or a restart causes.
var transientReplies = []string{
	"READONLY", "LOADING", "MASTERDOWN", "TRYAGAIN", "CLUSTERDOWN", "NOREPLICAS", "BUSY",
	"MAXCLIENTS", "ERR max number of clients",
	"EXECABORT", // a MULTI whose commands a demoted master refused
}

// transientReply reports whether a server reply error is one a failover or a
// restart causes.
func transientReply(msg string) bool {
	for _, p := range transientReplies {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}
