package load

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"time"
)

// Defaults of Config.
const (
	DefaultTokenTTL         = 12 * time.Hour
	DefaultMessageBytes     = 64
	DefaultMaxInFlight      = 2048
	DefaultSendTimeout      = 10 * time.Second
	DefaultSetupConcurrency = 64
	DefaultDialConcurrency  = 256
	DefaultSampleEvery      = time.Second
	DefaultPassword         = "msgbench-password"
)

// Ways a message is sent (Config.SendOver).
const (
	SendOverHTTP   = "http"   // POST /messages/send, answered 202
	SendOverSocket = "socket" // a send event on the sender's /ws socket, answered sendResult
)

// Watched is a process tree whose CPU and memory are reported beside the
// servers' (PostgreSQL, Kafka, Redis, ...).
type Watched struct {
	Name string
	PID  int
}

// Config configures a Bench.
type Config struct {
	// Targets are the servers' base URLs (http://host:port). User i talks to
	// Targets[i % len(Targets)], for its socket and its sends. Required.
	Targets []string
	// Users is the number of users, an even number: users 2k and 2k+1 are
	// friends and talk only to each other. Required.
	Users int
	// Register creates the users through POST /auth/register and makes each
	// pair friends through the API. Without it the users are fresh random ids
	// that the servers never heard of (enough to hold sockets), and KeyPEM
	// is required.
	Register bool
	// Strangers, with Register, registers the users but makes no friends and
	// opens no conversations: enough to hold sockets, which the servers open
	// only for users they know.
	Strangers bool
	// KeyPEM is the servers' token signing key (PEM). When set, access tokens
	// are minted here with it, valid for TokenTTL; otherwise the tokens of
	// the register answers are used (valid as long as the servers say).
	KeyPEM []byte
	// TokenTTL is the lifetime of minted tokens. Default DefaultTokenTTL.
	TokenTTL time.Duration
	// Password is every user's password. Default DefaultPassword.
	Password string
	// SourceIPs are local addresses that connections are made from, in turn.
	// One loopback address gives about 28,000 ephemeral ports, so many
	// sockets need several (127.0.0.2, 127.0.0.3, ...). Empty: the kernel
	// picks.
	SourceIPs []net.IP
	// MessageBytes is the length of each message text. Default DefaultMessageBytes.
	MessageBytes int
	// SendOver is how messages are sent: SendOverHTTP (the default) or
	// SendOverSocket. A send over the socket is matched with its sendResult
	// (or error) by clientMessageId; one whose socket drops before the answer
	// fails when SendTimeout passes.
	SendOver string
	// MaxInFlight bounds the sends in flight at once; a send waiting for a
	// slot is late, and its latency says so. Default DefaultMaxInFlight.
	MaxInFlight int
	// SendTimeout bounds a send, counted from its intended time. Default DefaultSendTimeout.
	SendTimeout time.Duration
	// SetupConcurrency bounds concurrent register and friend calls. Default
	// DefaultSetupConcurrency.
	SetupConcurrency int
	// DialConcurrency bounds concurrent WebSocket handshakes. Default
	// DefaultDialConcurrency.
	DialConcurrency int
	// AckEvery, when positive, makes every socket acknowledge what it
	// received (an ack frame up to its highest contiguous sequence) that often.
	AckEvery time.Duration
	// ServerPIDs are the server processes whose CPU and memory are read from
	// /proc. Empty: no server figures.
	ServerPIDs []int
	// Watch lists other process trees to report.
	Watch []Watched
	// Settle is the pause after the sockets open, before the servers'
	// memory is read again. Default 2 s; negative means none.
	Settle time.Duration
	// ProfileDir, when set, receives a CPU profile of every server taken
	// during each step's measured window from GET /debug/pprof/profile (a
	// server that does not serve it is noted once).
	ProfileDir string
	// MetricsTargets are the base URLs of the servers' metrics listeners
	// (their MESSENGER_METRICS_ADDR), one per target in the same order: where
	// /metrics is sampled and, with MESSENGER_PPROF, profiles are taken.
	// Empty means the targets themselves.
	MetricsTargets []string
	// ProcRoot is where /proc is. Default "/proc".
	ProcRoot string
	// SampleEvery is how often /metrics and /proc are read. Default DefaultSampleEvery.
	SampleEvery time.Duration
	// RunID makes the emails and client message ids of this run unique.
	// Default: random.
	RunID string
	// Progress, when set, receives a progress line once a second, rewritten
	// in place (a terminal).
	Progress io.Writer
	// Logger receives what happens. Nil discards.
	Logger *slog.Logger
	// AfterSetup, when set, runs at the end of Setup, once the users, their
	// friendships, sockets and conversations exist and before any step: for
	// what the stack needs to look like one that has been running (the
	// benchmark script has PostgreSQL gather the new database's statistics
	// there, which it would otherwise do only on autovacuum's next visit).
	// Its error fails Setup; its duration is in the result's setup figures.
	AfterSetup func(context.Context) error
}

// scrapeTargets are where /metrics and the profiles are read.
func (c Config) scrapeTargets() []string {
	if len(c.MetricsTargets) > 0 {
		return c.MetricsTargets
	}
	return c.Targets
}

func (c Config) withDefaults() (Config, error) {
	if len(c.Targets) == 0 {
		return c, fmt.Errorf("no targets")
	}
	for i, t := range c.Targets {
		t = strings.TrimRight(t, "/")
		u, err := url.Parse(t)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return c, fmt.Errorf("target %q: want http://host:port", t)
		}
		c.Targets[i] = t
	}
	if c.Users < 2 || c.Users%2 != 0 {
		return c, fmt.Errorf("users must be an even number of at least 2, not %d", c.Users)
	}
	if !c.Register && len(c.KeyPEM) == 0 {
		return c, fmt.Errorf("users that are not registered need a signing key to mint their tokens")
	}
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	defDur := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	switch c.SendOver {
	case "":
		c.SendOver = SendOverHTTP
	case SendOverHTTP, SendOverSocket:
	default:
		return c, fmt.Errorf("send over %q: want %s or %s", c.SendOver, SendOverHTTP, SendOverSocket)
	}
	def(&c.MessageBytes, DefaultMessageBytes)
	def(&c.MaxInFlight, DefaultMaxInFlight)
	def(&c.SetupConcurrency, DefaultSetupConcurrency)
	def(&c.DialConcurrency, DefaultDialConcurrency)
	defDur(&c.TokenTTL, DefaultTokenTTL)
	defDur(&c.SendTimeout, DefaultSendTimeout)
	defDur(&c.SampleEvery, DefaultSampleEvery)
	if c.Settle == 0 {
		c.Settle = 2 * time.Second
	}
	if c.Password == "" {
		c.Password = DefaultPassword
	}
	if c.ProcRoot == "" {
		c.ProcRoot = "/proc"
	}
	if c.RunID == "" {
		var b [4]byte
		_, _ = rand.Read(b[:])
		c.RunID = hex.EncodeToString(b[:])
	}
	if strings.ContainsAny(c.RunID, ".@ ") {
		return c, fmt.Errorf("run id %q must not hold '.', '@' or spaces", c.RunID)
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c, nil
}
