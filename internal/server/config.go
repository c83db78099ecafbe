package server

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// Config is the server's configuration, read once from the environment. The
// architecture guide's server/.env names are accepted as they are; everything
// else is MESSENGER_*. With nothing set, the server runs the embedded default.
type Config struct {
	Addr       string // listen address; from PORT (guide) or MESSENGER_ADDR
	Production bool   // NODE_ENV=production: the embedded default is refused

	DatabaseURL string // from DB_HOST/DB_PORT/DB_USER/DB_PASSWORD/DB_NAME or MESSENGER_DATABASE_URL
	Migrate     bool   // MESSENGER_MIGRATE (default true): apply migrations at start

	RedisSentinels  []string // REDIS_SENTINEL=true with REDIS_SENTINEL_HOST_1..3, or MESSENGER_REDIS_SENTINELS
	RedisMasterName string   // MESSENGER_REDIS_MASTER_NAME (default mymaster)
	RedisAddr       string   // MESSENGER_REDIS_ADDR: a single Redis without Sentinel
	RedisPassword   string   // REDIS_PASSWORD
	RedisKeyPrefix  string   // MESSENGER_REDIS_KEY_PREFIX: prefix of every key and channel (shared Redis)

	KafkaBrokers    string         // KAFKA_BROKERS
	KafkaPartitions map[string]int // MESSENGER_KAFKA_PARTITIONS, e.g. "chat-messages=10,typing-indicators=5"
	KafkaLinger     time.Duration  // MESSENGER_KAFKA_LINGER (default 3 ms: fewer, larger produce requests; see kafka.Config.Linger)
	KafkaFetchWait  time.Duration  // MESSENGER_KAFKA_FETCH_WAIT (default 10 ms; see kafka.Config.FetchWait)
	KafkaBatchWait  time.Duration  // MESSENGER_KAFKA_BATCH_WAIT (default 5 ms, 0 = none; see kafka.Config.BatchMaxWait)
	KafkaPrefix     string         // MESSENGER_KAFKA_TOPIC_PREFIX: prefix of topics and groups (shared cluster)
	KafkaDebug      string         // MESSENGER_KAFKA_DEBUG: librdkafka debug contexts to log, e.g. "broker,topic,msg" (see kafka.Config.Debug)

	NodeID string // MESSENGER_NODE_ID (default: host name and port)

	JWTPrivateKeyFile string        // MESSENGER_JWT_PRIVATE_KEY_FILE (PEM); empty = ephemeral key
	JWTIssuer         string        // MESSENGER_JWT_ISSUER (default "messenger")
	JWTAudience       string        // MESSENGER_JWT_AUDIENCE (default "messenger")
	AccessTokenTTL    time.Duration // MESSENGER_ACCESS_TOKEN_TTL (default 15m)
	RefreshTokenTTL   time.Duration // MESSENGER_REFRESH_TOKEN_TTL (default 720h)
	RefreshReuseGrace time.Duration // MESSENGER_REFRESH_REUSE_GRACE (default 0: none)

	AllowedOrigins []string // MESSENGER_ALLOWED_ORIGINS, comma-separated (WebSocket and CORS)
	SendRateLimit  int      // MESSENGER_SEND_RATE_LIMIT: sends per second per user (default 50; 0 = none)

	PasswordMemoryKiB  int // MESSENGER_PASSWORD_MEMORY_KIB: argon2id memory (default 19456)
	PasswordIterations int // MESSENGER_PASSWORD_ITERATIONS: argon2id passes (default 2)

	PprofAddr       string        // MESSENGER_PPROF_ADDR: serve net/http/pprof there (e.g. 127.0.0.1:6060); off by default
	ShutdownTimeout time.Duration // MESSENGER_SHUTDOWN_TIMEOUT (default 20s)
	LogLevel        slog.Level    // MESSENGER_LOG_LEVEL: debug, info, warn, error (default info)
	LogFormat       string        // MESSENGER_LOG_FORMAT: json or text (default json)
}

// Embedded reports whether no external dependency is configured.
func (c Config) Embedded() bool {
	return c.DatabaseURL == "" && c.KafkaBrokers == "" && len(c.RedisSentinels) == 0 && c.RedisAddr == ""
}

// Redis reports whether a Redis is configured.
func (c Config) Redis() bool { return len(c.RedisSentinels) > 0 || c.RedisAddr != "" }

// LoadConfig reads the configuration through getenv and validates it. Every
// problem is reported, not just the first.
func LoadConfig(getenv func(string) string) (Config, error) {
	p := &parser{getenv: getenv}
	c := Config{
		Addr:            p.str("MESSENGER_ADDR", ""),
		Production:      strings.EqualFold(getenv("NODE_ENV"), "production"),
		DatabaseURL:     p.str("MESSENGER_DATABASE_URL", ""),
		Migrate:         p.boolean("MESSENGER_MIGRATE", true),
		RedisMasterName: p.str("MESSENGER_REDIS_MASTER_NAME", "mymaster"),
		RedisAddr:       p.str("MESSENGER_REDIS_ADDR", ""),
		RedisPassword:   p.str("REDIS_PASSWORD", ""),
		RedisKeyPrefix:  p.str("MESSENGER_REDIS_KEY_PREFIX", ""),
		KafkaBrokers:    p.str("KAFKA_BROKERS", ""),
		KafkaLinger:     p.duration("MESSENGER_KAFKA_LINGER", 3*time.Millisecond),
		KafkaFetchWait:  p.duration("MESSENGER_KAFKA_FETCH_WAIT", 10*time.Millisecond),
		KafkaBatchWait:  p.duration("MESSENGER_KAFKA_BATCH_WAIT", 5*time.Millisecond),
		KafkaPrefix:     p.str("MESSENGER_KAFKA_TOPIC_PREFIX", ""),
		KafkaDebug:      p.str("MESSENGER_KAFKA_DEBUG", ""),
		NodeID:          p.str("MESSENGER_NODE_ID", ""),

		JWTPrivateKeyFile: p.str("MESSENGER_JWT_PRIVATE_KEY_FILE", ""),
		JWTIssuer:         p.str("MESSENGER_JWT_ISSUER", "messenger"),
		JWTAudience:       p.str("MESSENGER_JWT_AUDIENCE", "messenger"),
		AccessTokenTTL:    p.duration("MESSENGER_ACCESS_TOKEN_TTL", 15*time.Minute),
		RefreshTokenTTL:   p.duration("MESSENGER_REFRESH_TOKEN_TTL", 720*time.Hour),
		RefreshReuseGrace: p.duration("MESSENGER_REFRESH_REUSE_GRACE", 0),

		AllowedOrigins:  p.list("MESSENGER_ALLOWED_ORIGINS"),
		SendRateLimit:   p.integer("MESSENGER_SEND_RATE_LIMIT", 50),
		ShutdownTimeout: p.duration("MESSENGER_SHUTDOWN_TIMEOUT", 20*time.Second),
		PprofAddr:       p.str("MESSENGER_PPROF_ADDR", ""),

		PasswordMemoryKiB:  p.integer("MESSENGER_PASSWORD_MEMORY_KIB", 19456),
		PasswordIterations: p.integer("MESSENGER_PASSWORD_ITERATIONS", 2),
		LogFormat:          p.str("MESSENGER_LOG_FORMAT", "json"),
	}
	if c.Addr == "" {
		port := p.integer("PORT", 3000)
		if port < 0 || port > 65535 {
			p.fail("PORT", "must be a TCP port")
		}
		c.Addr = ":" + strconv.Itoa(port)
	}
	if err := c.LogLevel.UnmarshalText([]byte(p.str("MESSENGER_LOG_LEVEL", "info"))); err != nil {
		p.fail("MESSENGER_LOG_LEVEL", "must be debug, info, warn or error")
	}
	if c.LogFormat != "json" && c.LogFormat != "text" {
		p.fail("MESSENGER_LOG_FORMAT", "must be json or text")
	}
	if c.DatabaseURL == "" && getenv("DB_HOST") != "" {
		c.DatabaseURL = postgresURL(p)
	}
	c.RedisSentinels = sentinels(p)
	c.KafkaPartitions = partitions(p)
	if c.SendRateLimit < 0 {
		p.fail("MESSENGER_SEND_RATE_LIMIT", "must not be negative")
	}
	if c.Production {
		for _, need := range []struct{ name, val string }{
			{"DB_HOST or MESSENGER_DATABASE_URL", c.DatabaseURL},
			{"KAFKA_BROKERS", c.KafkaBrokers},
			{"MESSENGER_JWT_PRIVATE_KEY_FILE", c.JWTPrivateKeyFile},
		} {
			if need.val == "" {
				p.fail(need.name, "is required when NODE_ENV=production")
			}
		}
		if !c.Redis() {
			p.fail("REDIS_SENTINEL_HOST_1 or MESSENGER_REDIS_ADDR", "is required when NODE_ENV=production")
		}
	}
	return c, errors.Join(p.errs...)
}

// postgresURL builds a DSN from the guide's DB_* variables.
func postgresURL(p *parser) string {
	u := url.URL{
		Scheme: "postgres",
		User:   url.UserPassword(p.str("DB_USER", "postgres"), p.str("DB_PASSWORD", "")),
		Host:   net.JoinHostPort(p.str("DB_HOST", ""), p.str("DB_PORT", "5432")),
		Path:   "/" + p.str("DB_NAME", "messenger"),
	}
	q := url.Values{}
	q.Set("sslmode", p.str("MESSENGER_DB_SSLMODE", "prefer"))
	u.RawQuery = q.Encode()
	return u.String()
}

// sentinels reads the guide's REDIS_SENTINEL and REDIS_SENTINEL_HOST_1..3 (a host
// or host:port; port 26379 by default), or MESSENGER_REDIS_SENTINELS.
func sentinels(p *parser) []string {
	if list := p.list("MESSENGER_REDIS_SENTINELS"); len(list) > 0 {
		return list
	}
	if !p.boolean("REDIS_SENTINEL", false) {
		return nil
	}
	var out []string
	for i := 1; i <= 9; i++ {
		h := p.str(fmt.Sprintf("REDIS_SENTINEL_HOST_%d", i), "")
		if h == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(h); err != nil {
			h = net.JoinHostPort(h, "26379")
		}
		out = append(out, h)
	}
	if len(out) == 0 {
		p.fail("REDIS_SENTINEL", "is true but no REDIS_SENTINEL_HOST_n is set")
	}
	return out
}

// partitions reads MESSENGER_KAFKA_PARTITIONS as topic=count pairs.
func partitions(p *parser) map[string]int {
	out := map[string]int{}
	for _, kv := range p.list("MESSENGER_KAFKA_PARTITIONS") {
		topic, n, ok := strings.Cut(kv, "=")
		count, err := strconv.Atoi(n)
		if !ok || err != nil || count < 1 {
			p.fail("MESSENGER_KAFKA_PARTITIONS", "must be topic=count pairs, e.g. chat-messages=10")
			continue
		}
		out[strings.TrimSpace(topic)] = count
	}
	return out
}

// parser reads typed values and collects every error.
type parser struct {
	getenv func(string) string
	errs   []error
}

func (p *parser) fail(name, msg string) {
	p.errs = append(p.errs, fmt.Errorf("%s %s", name, msg))
}

func (p *parser) str(name, def string) string {
	if v := strings.TrimSpace(p.getenv(name)); v != "" {
		return v
	}
	return def
}

func (p *parser) integer(name string, def int) int {
	v := p.str(name, "")
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		p.fail(name, "must be an integer")
		return def
	}
	return n
}

func (p *parser) boolean(name string, def bool) bool {
	v := p.str(name, "")
	if v == "" {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		p.fail(name, "must be true or false")
		return def
	}
	return b
}

func (p *parser) duration(name string, def time.Duration) time.Duration {
	v := p.str(name, "")
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		p.fail(name, "must be a duration such as 250ms or 15m")
		return def
	}
	return d
}

func (p *parser) list(name string) []string {
	var out []string
	for _, s := range strings.Split(p.getenv(name), ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// hostname is the default node id's first half.
func hostname() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "node"
	}
	return h
}
