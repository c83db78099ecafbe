package server

//go:generate go test -run ^TestConfigurationTable$ . -args -update

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/caarlos0/env/v11"
)

// Config is the server's configuration, read once from the environment. Each
// variable is one field, declared here once: its name (env), its default
// (envDefault, or docDefault when the default is computed) and its meaning
// (desc). docs/configuration.md's table is generated from these tags. The
// architecture guide's server/.env names are accepted as they are; everything
// else is MESSENGER_*. With nothing set, the server runs the embedded default.
//
// Fields tagged env:"-" are derived by LoadConfig from the others.
type Config struct {
	Port       int    `env:"PORT" envDefault:"3000" desc:"listen port (guide)"`
	Addr       string `env:"MESSENGER_ADDR" docDefault:":$PORT" desc:"full listen address of the API and WebSockets, e.g. 127.0.0.1:3101; wins over PORT. Every interface by default, for a load balancer or a container's network"`
	NodeEnv    string `env:"NODE_ENV" desc:"production refuses the embedded default: PostgreSQL, Kafka, Redis and a signing key must be configured; and a database with fsync or synchronous_commit off (guide)"`
	Production bool   `env:"-"` // NODE_ENV=production
	NodeID     string `env:"MESSENGER_NODE_ID" docDefault:"host:port" desc:"this process's name in presence, Kafka client ids and logs"`

	DBHost            string `env:"DB_HOST" desc:"PostgreSQL host (guide); setting it selects PostgreSQL"`
	DBPort            string `env:"DB_PORT" envDefault:"5432" desc:"PostgreSQL port (guide)"`
	DBUser            string `env:"DB_USER" envDefault:"postgres" desc:"PostgreSQL user (guide)"`
	DBPassword        string `env:"DB_PASSWORD" desc:"PostgreSQL password (guide)"`
	DBName            string `env:"DB_NAME" envDefault:"messenger" desc:"PostgreSQL database (guide)"`
	DBSSLMode         string `env:"MESSENGER_DB_SSLMODE" envDefault:"prefer" desc:"sslmode of the URL built from DB_*"`
	DatabaseURL       string `env:"MESSENGER_DATABASE_URL" desc:"a full PostgreSQL URL instead of DB_*; after loading, the URL in use"`
	Migrate           bool   `env:"MESSENGER_MIGRATE" envDefault:"true" desc:"apply the migrations at start (also: messenger migrate)"`
	DBAllowNonDurable bool   `env:"MESSENGER_DB_ALLOW_NON_DURABLE" envDefault:"false" desc:"true lets NODE_ENV=production start on a database with fsync or synchronous_commit off, for throwaway test stacks; it is still logged as an error and shown in /readyz"`

	RedisSentinel      bool     `env:"REDIS_SENTINEL" envDefault:"false" desc:"true: Redis through the Sentinels REDIS_SENTINEL_HOST_n (guide)"`
	RedisSentinelHost1 string   `env:"REDIS_SENTINEL_HOST_1" desc:"a Sentinel, host or host:port (port 26379 by default) (guide)"`
	RedisSentinelHost2 string   `env:"REDIS_SENTINEL_HOST_2" desc:"the second Sentinel (guide)"`
	RedisSentinelHost3 string   `env:"REDIS_SENTINEL_HOST_3" desc:"the third Sentinel (guide)"`
	RedisSentinels     []string `env:"MESSENGER_REDIS_SENTINELS" desc:"comma-separated Sentinels instead of REDIS_SENTINEL_HOST_n; after loading, the Sentinels in use"`
	RedisMasterName    string   `env:"MESSENGER_REDIS_MASTER_NAME" envDefault:"mymaster" desc:"the master name the Sentinels monitor"`
	RedisAddr          string   `env:"MESSENGER_REDIS_ADDR" desc:"one Redis without Sentinel, host:port"`
	RedisPassword      string   `env:"REDIS_PASSWORD" desc:"Redis password (guide)"`
	RedisKeyPrefix     string   `env:"MESSENGER_REDIS_KEY_PREFIX" desc:"prefix of every key and channel (several deployments on one Redis)"`

	KafkaBrokers           string         `env:"KAFKA_BROKERS" desc:"bootstrap brokers, comma-separated (guide)"`
	KafkaPartitions        map[string]int `env:"MESSENGER_KAFKA_PARTITIONS" docDefault:"the guide's" desc:"partitions of the topics created at start, e.g. chat-messages=10,typing-indicators=5"`
	KafkaLinger            time.Duration  `env:"MESSENGER_KAFKA_LINGER" envDefault:"0" desc:"producer batching delay; fewer, larger produce requests for that much send latency (0: none; records still batch while requests are in flight)"`
	KafkaFetchWait         time.Duration  `env:"MESSENGER_KAFKA_FETCH_WAIT" envDefault:"0" desc:"how long the message consumer's fetches wait for 64 KiB of records to pile up (0: answered as soon as a record is there)"`
	KafkaBatchWait         time.Duration  `env:"MESSENGER_KAFKA_BATCH_WAIT" envDefault:"0" desc:"how long a consumer collects records after the first before storing them as one batch (0: none; a batch is what was fetched while the previous one was stored)"`
	KafkaPrefix            string         `env:"MESSENGER_KAFKA_TOPIC_PREFIX" desc:"prefix of topics and consumer groups (several deployments on one cluster)"`
	KafkaDebug             string         `env:"MESSENGER_KAFKA_DEBUG" desc:"librdkafka debug contexts logged at debug level, e.g. broker,topic,msg; for diagnosis"`
	KafkaReplicationFactor int            `env:"MESSENGER_KAFKA_REPLICATION_FACTOR" envDefault:"0" desc:"replication factor of the topics created at start (0: the brokers' default.replication.factor); 3 with three brokers or more"`
	KafkaMinInSyncReplicas int            `env:"MESSENGER_KAFKA_MIN_INSYNC_REPLICAS" envDefault:"0" desc:"min.insync.replicas of the topics created at start (0: the brokers'); 2 with a replication factor of 3: every acknowledged send is on two brokers, and sends go on with one broker down"`
	KafkaGroupProtocol     string         `env:"MESSENGER_KAFKA_GROUP_PROTOCOL" envDefault:"consumer" desc:"consumer group protocol: consumer (KIP-848, Kafka 4: the brokers assign partitions and time a dead node out by their group.consumer.session.timeout.ms; 3000 takes its partitions over within about 4 s, see docs/availability.md), or classic"`
	KafkaSessionTimeout    time.Duration  `env:"MESSENGER_KAFKA_SESSION_TIMEOUT" envDefault:"10s" desc:"with the classic group protocol, how long a silent node (crashed or frozen) keeps its partitions before the other nodes take them over; below 6s the brokers' group.min.session.timeout.ms must allow it"`
	KafkaStaticMembership  bool           `env:"MESSENGER_KAFKA_STATIC_MEMBERSHIP" envDefault:"false" desc:"static group membership (group.instance.id from MESSENGER_NODE_ID): a node restarted within the session timeout keeps its partitions without a rebalance, but a node stopped for good holds them until the timeout"`
	KafkaRequestTimeout    time.Duration  `env:"MESSENGER_KAFKA_REQUEST_TIMEOUT" envDefault:"3s" desc:"how long a request to a broker may go unanswered before the client drops the connection, retries elsewhere and asks again who leads (socket.timeout.ms): a frozen broker's partitions are followed to their new leaders after about this long"`
	KafkaMetadataRefresh   time.Duration  `env:"MESSENGER_KAFKA_METADATA_REFRESH" envDefault:"250ms" desc:"how often the Kafka clients look up the partitions' leaders when nothing failed (topic.metadata.refresh.interval.ms)"`

	JWTPrivateKeyFile string        `env:"MESSENGER_JWT_PRIVATE_KEY_FILE" docDefault:"ephemeral key" desc:"RSA signing key, PEM (messenger keygen -out FILE makes one)"`
	JWTIssuer         string        `env:"MESSENGER_JWT_ISSUER" envDefault:"messenger" desc:"iss of access tokens, written and required"`
	JWTAudience       string        `env:"MESSENGER_JWT_AUDIENCE" envDefault:"messenger" desc:"aud of access tokens, written and required"`
	AccessTokenTTL    time.Duration `env:"MESSENGER_ACCESS_TOKEN_TTL" envDefault:"15m" desc:"lifetime of access tokens (and of the sockets opened with them)"`
	RefreshTokenTTL   time.Duration `env:"MESSENGER_REFRESH_TOKEN_TTL" envDefault:"720h" desc:"lifetime of refresh tokens"`
	RefreshReuseGrace time.Duration `env:"MESSENGER_REFRESH_REUSE_GRACE" envDefault:"0s" desc:"how long after its rotation a refresh token may be presented again without revoking its family (0: the old token stops working)"`

	AllowedOrigins     []string `env:"MESSENGER_ALLOWED_ORIGINS" docDefault:"same origin" desc:"browser origins allowed for CORS and the WebSocket, comma-separated"`
	SendRateLimit      int      `env:"MESSENGER_SEND_RATE_LIMIT" envDefault:"50" desc:"sends per second per user, shared by the nodes through Redis (0: none)"`
	PasswordMemoryKiB  int      `env:"MESSENGER_PASSWORD_MEMORY_KIB" envDefault:"19456" desc:"argon2id memory, KiB"`
	PasswordIterations int      `env:"MESSENGER_PASSWORD_ITERATIONS" envDefault:"2" desc:"argon2id passes"`
	PasswordMaxWaiting int      `env:"MESSENGER_PASSWORD_MAX_WAITING" envDefault:"0" desc:"password hashes that may wait for a free hasher; beyond, logins answer 503 at once (0: 4 per CPU hasher)"`
	TrustedProxies     []string `env:"MESSENGER_TRUSTED_PROXIES" desc:"reverse proxies (CIDRs or addresses) whose X-Forwarded-For names the client, comma-separated"`

	LoginAccountFreeFailures int           `env:"MESSENGER_LOGIN_ACCOUNT_FREE_FAILURES" envDefault:"5" desc:"failed logins of one account before it must wait"`
	LoginAddressFreeFailures int           `env:"MESSENGER_LOGIN_ADDRESS_FREE_FAILURES" envDefault:"20" desc:"failed logins from one client address (IPv6: its /64) before it must wait"`
	LoginFirstDelay          time.Duration `env:"MESSENGER_LOGIN_FIRST_DELAY" envDefault:"1s" desc:"the first wait after the free failures; each further failure doubles it"`
	LoginMaxDelay            time.Duration `env:"MESSENGER_LOGIN_MAX_DELAY" envDefault:"15m" desc:"the longest wait between failed logins"`
	LoginWindow              time.Duration `env:"MESSENGER_LOGIN_WINDOW" envDefault:"1h" desc:"failures older than this are forgotten"`
	RegistrationsPerAddress  int           `env:"MESSENGER_REGISTRATIONS_PER_ADDRESS" envDefault:"10" desc:"registrations allowed from one client address per MESSENGER_REGISTRATION_WINDOW"`
	RegistrationWindow       time.Duration `env:"MESSENGER_REGISTRATION_WINDOW" envDefault:"1h" desc:"the window of MESSENGER_REGISTRATIONS_PER_ADDRESS, and the wait once it is spent"`
	SearchRateLimit          int           `env:"MESSENGER_SEARCH_RATE_LIMIT" envDefault:"1" desc:"user searches per second per user, shared by the nodes through Redis"`
	SearchBurst              int           `env:"MESSENGER_SEARCH_BURST" envDefault:"20" desc:"searches a user may make at once after a pause"`
	UserCacheTTL             time.Duration `env:"MESSENGER_USER_CACHE_TTL" envDefault:"15s" desc:"how long a node trusts that a token's user exists before asking the store again"`

	TLSCertFile string `env:"MESSENGER_TLS_CERT_FILE" docDefault:"none: plain HTTP" desc:"certificate chain, PEM; with MESSENGER_TLS_KEY_FILE the server serves HTTPS and wss:// itself, and reads both files again when they change"`
	TLSKeyFile  string `env:"MESSENGER_TLS_KEY_FILE" desc:"the certificate's private key, PEM"`

	ReadHeaderTimeout time.Duration `env:"MESSENGER_READ_HEADER_TIMEOUT" envDefault:"10s" desc:"how long a client may take to send a request's headers"`
	ReadTimeout       time.Duration `env:"MESSENGER_READ_TIMEOUT" envDefault:"30s" desc:"how long a client may take to send a whole request, body included (a WebSocket is exempt once upgraded)"`
	WriteTimeout      time.Duration `env:"MESSENGER_WRITE_TIMEOUT" envDefault:"60s" desc:"how long a REST request may take from the end of its headers to the end of its answer (a WebSocket is exempt once upgraded)"`
	IdleTimeout       time.Duration `env:"MESSENGER_IDLE_TIMEOUT" envDefault:"120s" desc:"how long a keep-alive connection may wait for its next request"`
	MaxHeaderBytes    int           `env:"MESSENGER_MAX_HEADER_BYTES" envDefault:"65536" desc:"largest request header block; a larger one is answered 431"`

	MetricsAddr     string        `env:"MESSENGER_METRICS_ADDR" envDefault:"127.0.0.1:9464" desc:"private listener of /metrics (and of /debug/pprof/ with MESSENGER_PPROF), never the public one; loopback by default, :9464 for a scraper on another host; off: none"`
	Pprof           bool          `env:"MESSENGER_PPROF" envDefault:"false" desc:"serve net/http/pprof under /debug/pprof/ on the metrics listener"`
	ShutdownTimeout time.Duration `env:"MESSENGER_SHUTDOWN_TIMEOUT" envDefault:"20s" desc:"the one deadline of a graceful shutdown, every step included"`
	LogLevel        slog.Level    `env:"MESSENGER_LOG_LEVEL" envDefault:"info" desc:"debug, info, warn or error"`
	LogFormat       string        `env:"MESSENGER_LOG_FORMAT" envDefault:"json" desc:"json or text"`

	WSFrameRate      int           `env:"MESSENGER_WS_FRAME_RATE" envDefault:"20" desc:"incoming WebSocket frames served per second per socket; beyond, frames are dropped with an error event rate_limited, and a socket that goes on is closed with 1008 (0: no limit)"`
	WSFrameBurst     int           `env:"MESSENGER_WS_FRAME_BURST" envDefault:"50" desc:"frames a socket may send at once after a pause; as many refused frames beyond the rate close it"`
	WSSocketsPerUser int           `env:"MESSENGER_WS_SOCKETS_PER_USER" envDefault:"10" desc:"WebSockets one user may hold on a node; a new one beyond closes the user's oldest with 4009 (0: no cap)"`
	WSOpenRate       int           `env:"MESSENGER_WS_OPEN_RATE" envDefault:"1" desc:"WebSockets one user may open per second on a node, after a burst of MESSENGER_WS_OPEN_BURST; beyond, 429 before the upgrade, answered MESSENGER_THROTTLED_DELAY later (0: no limit)"`
	WSOpenBurst      int           `env:"MESSENGER_WS_OPEN_BURST" envDefault:"10" desc:"WebSockets one user may open at once"`
	WSReadTimeout    time.Duration `env:"MESSENGER_WS_READ_TIMEOUT" envDefault:"65s" desc:"a WebSocket from which nothing (no frame, no pong to the pings sent every 25s) came for this long is dropped"`
	ThrottledDelay   time.Duration `env:"MESSENGER_THROTTLED_DELAY" envDefault:"1s" desc:"a login, registration or WebSocket open refused by its limit (429) is answered this much later, so that one connection cannot repeat refused attempts quickly (0: at once)"`
	TypingInterval   time.Duration `env:"MESSENGER_TYPING_INTERVAL" envDefault:"2s" desc:"a typing start of one sender to one receiver goes out at most this often, and one stop per start; the rest are dropped (0: all go out)"`

	AttachmentMaxBytes    int64         `env:"MESSENGER_ATTACHMENT_MAX_BYTES" envDefault:"26214400" desc:"largest attachment an upload may declare (25 MiB)"`
	AttachmentTypes       []string      `env:"MESSENGER_ATTACHMENT_TYPES" docDefault:"images, PDF, office documents" desc:"comma-separated content types attachments may have (see attachments.md); HTML, SVG, XML and JavaScript are refused"`
	AttachmentUploadTTL   time.Duration `env:"MESSENGER_ATTACHMENT_UPLOAD_TTL" envDefault:"15m" desc:"how long an upload URL works; an attachment no message took by then is removed"`
	AttachmentDownloadTTL time.Duration `env:"MESSENGER_ATTACHMENT_DOWNLOAD_TTL" envDefault:"5m" desc:"how long the download URL GET /attachments/{id} redirects to works"`
	BlobDir               string        `env:"MESSENGER_BLOB_DIR" docDefault:"a new temporary directory" desc:"directory of attachments' files when no S3 is configured; the server serves their signed URLs under /blobs/"`
	BlobSecret            string        `env:"MESSENGER_BLOB_SECRET" docDefault:"random at start" desc:"key (32 bytes or more) signing the URLs under /blobs/; nodes sharing MESSENGER_BLOB_DIR must share it"`
	S3Endpoint            string        `env:"MESSENGER_S3_ENDPOINT" desc:"host[:port] of an S3-compatible store for attachments' files; setting it selects S3. Clients upload and download there with presigned URLs, so it must be reachable by them under this name"`
	S3Bucket              string        `env:"MESSENGER_S3_BUCKET" envDefault:"messenger-attachments" desc:"the bucket of attachments' files"`
	S3Region              string        `env:"MESSENGER_S3_REGION" envDefault:"us-east-1" desc:"the bucket's region"`
	S3AccessKey           string        `env:"MESSENGER_S3_ACCESS_KEY" desc:"S3 access key"`
	S3SecretKey           string        `env:"MESSENGER_S3_SECRET_KEY" desc:"S3 secret key"`
	S3Insecure            bool          `env:"MESSENGER_S3_INSECURE" envDefault:"false" desc:"plain HTTP to the store (a local one); HTTPS otherwise"`
	S3CreateBucket        bool          `env:"MESSENGER_S3_CREATE_BUCKET" envDefault:"false" desc:"create the bucket at start when it is missing"`
	S3CORSOrigins         []string      `env:"MESSENGER_S3_CORS_ORIGINS" desc:"comma-separated browser origins (where the web client is served) set at start as the bucket's CORS rules for uploads and downloads; empty: the bucket's rules are left alone"`
	PushWebhookURL        string        `env:"MESSENGER_PUSH_WEBHOOK_URL" desc:"where the signed webhook posts notifications for devices of platform webhook; setting it (or an FCM key) turns push on"`
	PushWebhookSecret     string        `env:"MESSENGER_PUSH_WEBHOOK_SECRET" desc:"the deployment's HMAC-SHA256 key of the webhook's signatures, at least 16 bytes; required with MESSENGER_PUSH_WEBHOOK_URL"`
	PushWebhookAttempts   int           `env:"MESSENGER_PUSH_WEBHOOK_ATTEMPTS" envDefault:"5" desc:"tries of a webhook call answered 5xx, 408 or 429 or timed out, with backoff from 0.5s, before it is dead-lettered"`
	PushFCMCredentials    string        `env:"MESSENGER_PUSH_FCM_CREDENTIALS_FILE" desc:"a Firebase service account's JSON key; setting it sends to devices of platform fcm through FCM HTTP v1"`
	PushCollapse          time.Duration `env:"MESSENGER_PUSH_COLLAPSE" envDefault:"5s" desc:"shortest time between two notifications of one conversation to one user; messages meanwhile are told together with their count"`
	PushStoredWait        time.Duration `env:"MESSENGER_PUSH_STORED_WAIT" envDefault:"10s" desc:"how long the push group waits for a message to be stored before it gives up telling of it"`
	PushWorkers           int           `env:"MESSENGER_PUSH_WORKERS" envDefault:"4" desc:"notifications sent at once"`
}

// Embedded reports whether no external dependency is configured.
func (c Config) Embedded() bool {
	return c.DatabaseURL == "" && c.KafkaBrokers == "" && len(c.RedisSentinels) == 0 && c.RedisAddr == ""
}

// Redis reports whether a Redis is configured.
func (c Config) Redis() bool { return len(c.RedisSentinels) > 0 || c.RedisAddr != "" }

// TLS reports whether the server serves TLS itself.
func (c Config) TLS() bool { return c.TLSCertFile != "" }

// LoadConfig reads the configuration through getenv and validates it. Every
// problem is reported, not just the first. Values are trimmed; an empty one
// counts as unset.
func LoadConfig(getenv func(string) string) (Config, error) {
	environment := map[string]string{}
	for _, v := range configVars() {
		if val := strings.TrimSpace(getenv(v.name)); val != "" {
			environment[v.name] = val
		}
	}
	var c Config
	var errs []error
	if err := env.ParseWithOptions(&c, env.Options{Environment: environment, FuncMap: parsers}); err != nil {
		errs = parseErrors(err)
	}
	errs = append(errs, c.derive()...)
	return c, errors.Join(errs...)
}

// derive fills the derived fields and checks what a single variable's type
// cannot.
func (c *Config) derive() []error {
	var errs []error
	fail := func(name, msg string) { errs = append(errs, fmt.Errorf("%s %s", name, msg)) }

	if c.Port < 0 || c.Port > 65535 {
		fail("PORT", "must be a TCP port")
	}
	if c.Addr == "" {
		c.Addr = ":" + strconv.Itoa(c.Port)
	}
	c.Production = strings.EqualFold(c.NodeEnv, "production")
	if c.LogFormat != "json" && c.LogFormat != "text" {
		fail("MESSENGER_LOG_FORMAT", "must be json or text")
	}
	for name, v := range map[string]int{
		"MESSENGER_SEND_RATE_LIMIT":     c.SendRateLimit,
		"MESSENGER_WS_FRAME_RATE":       c.WSFrameRate,
		"MESSENGER_WS_OPEN_RATE":        c.WSOpenRate,
		"MESSENGER_WS_SOCKETS_PER_USER": c.WSSocketsPerUser,
	} {
		if v < 0 {
			fail(name, "must not be negative")
		}
	}
	if c.KafkaGroupProtocol != "classic" && c.KafkaGroupProtocol != "consumer" {
		fail("MESSENGER_KAFKA_GROUP_PROTOCOL", "must be classic or consumer")
	}
	if c.KafkaReplicationFactor < 0 || c.KafkaMinInSyncReplicas < 0 {
		fail("MESSENGER_KAFKA_REPLICATION_FACTOR and MESSENGER_KAFKA_MIN_INSYNC_REPLICAS", "must not be negative")
	} else if c.KafkaReplicationFactor > 0 && c.KafkaMinInSyncReplicas > c.KafkaReplicationFactor {
		fail("MESSENGER_KAFKA_MIN_INSYNC_REPLICAS", "must not exceed MESSENGER_KAFKA_REPLICATION_FACTOR")
	}
	if c.KafkaSessionTimeout < time.Second {
		fail("MESSENGER_KAFKA_SESSION_TIMEOUT", "must be at least 1s")
	}
	if c.WSReadTimeout < time.Second {
		fail("MESSENGER_WS_READ_TIMEOUT", "must be at least 1s")
	}
	for name, v := range map[string]int{
		"MESSENGER_LOGIN_ACCOUNT_FREE_FAILURES": c.LoginAccountFreeFailures,
		"MESSENGER_LOGIN_ADDRESS_FREE_FAILURES": c.LoginAddressFreeFailures,
		"MESSENGER_REGISTRATIONS_PER_ADDRESS":   c.RegistrationsPerAddress,
		"MESSENGER_SEARCH_RATE_LIMIT":           c.SearchRateLimit,
		"MESSENGER_SEARCH_BURST":                c.SearchBurst,
		"MESSENGER_WS_FRAME_BURST":              c.WSFrameBurst,
		"MESSENGER_WS_OPEN_BURST":               c.WSOpenBurst,
	} {
		if v < 1 {
			fail(name, "must be at least 1")
		}
	}
	if c.MaxHeaderBytes < 4096 {
		fail("MESSENGER_MAX_HEADER_BYTES", "must be at least 4096")
	}
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		fail("MESSENGER_TLS_CERT_FILE and MESSENGER_TLS_KEY_FILE", "must be set together")
	}
	if strings.EqualFold(c.MetricsAddr, "off") {
		c.MetricsAddr = ""
	}
	if c.Pprof && c.MetricsAddr == "" {
		fail("MESSENGER_PPROF", "needs the metrics listener (MESSENGER_METRICS_ADDR is off)")
	}
	if c.DatabaseURL == "" && c.DBHost != "" {
		c.DatabaseURL = c.postgresURL()
	}
	if len(c.RedisSentinels) == 0 && c.RedisSentinel {
		for _, h := range []string{c.RedisSentinelHost1, c.RedisSentinelHost2, c.RedisSentinelHost3} {
			if h == "" {
				continue
			}
			if _, _, err := net.SplitHostPort(h); err != nil {
				h = net.JoinHostPort(h, "26379")
			}
			c.RedisSentinels = append(c.RedisSentinels, h)
		}
		if len(c.RedisSentinels) == 0 {
			fail("REDIS_SENTINEL", "is true but no REDIS_SENTINEL_HOST_n is set")
		}
	}
	if c.Production {
		for _, need := range []struct{ name, val string }{
			{"DB_HOST or MESSENGER_DATABASE_URL", c.DatabaseURL},
			{"KAFKA_BROKERS", c.KafkaBrokers},
			{"MESSENGER_JWT_PRIVATE_KEY_FILE", c.JWTPrivateKeyFile},
		} {
			if need.val == "" {
				fail(need.name, "is required when NODE_ENV=production")
			}
		}
		if !c.Redis() {
			fail("REDIS_SENTINEL_HOST_1 or MESSENGER_REDIS_ADDR", "is required when NODE_ENV=production")
		}
	}
	return errs
}

// postgresURL builds a DSN from the guide's DB_* variables.
func (c Config) postgresURL() string {
	u := url.URL{
		Scheme: "postgres",
		User:   url.UserPassword(c.DBUser, c.DBPassword),
		Host:   net.JoinHostPort(c.DBHost, c.DBPort),
		Path:   "/" + c.DBName,
	}
	q := url.Values{}
	q.Set("sslmode", c.DBSSLMode)
	u.RawQuery = q.Encode()
	return u.String()
}

// parsers replace the library's for the types whose rules differ: a negative
// duration is refused, lists drop blanks, partitions are topic=count pairs.
var parsers = map[reflect.Type]env.ParserFunc{
	reflect.TypeFor[time.Duration](): func(v string) (any, error) {
		d, err := time.ParseDuration(v)
		if err == nil && d < 0 {
			err = errors.New("negative")
		}
		return d, err
	},
	reflect.TypeFor[[]string](): func(v string) (any, error) { return list(v), nil },
	reflect.TypeFor[map[string]int](): func(v string) (any, error) {
		out := map[string]int{}
		for _, kv := range list(v) {
			key, n, ok := strings.Cut(kv, "=")
			count, err := strconv.Atoi(strings.TrimSpace(n))
			if !ok || err != nil || count < 1 || strings.TrimSpace(key) == "" {
				return nil, fmt.Errorf("bad pair %q", kv)
			}
			out[strings.TrimSpace(key)] = count
		}
		return out, nil
	},
}

// mustBe says, per field type, what a value that does not parse should be.
var mustBe = map[reflect.Type]string{
	reflect.TypeFor[int]():            "must be an integer",
	reflect.TypeFor[bool]():           "must be true or false",
	reflect.TypeFor[time.Duration]():  "must be a duration such as 250ms or 15m",
	reflect.TypeFor[slog.Level]():     "must be debug, info, warn or error",
	reflect.TypeFor[map[string]int](): "must be topic=count pairs, e.g. chat-messages=10",
}

// parseErrors turns the library's errors, which name struct fields, into
// errors that name the variable and say what its value must be.
func parseErrors(err error) []error {
	var agg env.AggregateError
	if !errors.As(err, &agg) {
		return []error{err}
	}
	names := map[string]string{}
	for _, v := range configVars() {
		names[v.field] = v.name
	}
	out := make([]error, 0, len(agg.Errors))
	for _, e := range agg.Errors {
		var pe env.ParseError
		if !errors.As(e, &pe) {
			out = append(out, e)
			continue
		}
		msg, ok := mustBe[pe.Type]
		if !ok {
			msg = "is not valid: " + pe.Err.Error()
		}
		out = append(out, fmt.Errorf("%s %s", names[pe.Name], msg))
	}
	return out
}

// configVar is one variable of Config, as its tags declare it.
type configVar struct {
	field, name, def, meaning string
}

// configVars lists Config's variables in declaration order.
func configVars() []configVar {
	t := reflect.TypeFor[Config]()
	out := make([]configVar, 0, t.NumField())
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("env"), ",")
		if name == "" || name == "-" {
			continue
		}
		def, ok := f.Tag.Lookup("envDefault")
		if !ok {
			def = f.Tag.Get("docDefault")
		} else if def != "" {
			def = "`" + def + "`"
		}
		out = append(out, configVar{field: f.Name, name: name, def: def, meaning: f.Tag.Get("desc")})
	}
	return out
}

// ConfigurationTable is the table of variables docs/configuration.md shows,
// in Markdown.
func ConfigurationTable() string {
	var b strings.Builder
	b.WriteString("| variable | default | meaning |\n|---|---|---|\n")
	for _, v := range configVars() {
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", v.name, v.def, v.meaning)
	}
	return b.String()
}

// list splits a comma-separated value, dropping blanks.
func list(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
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
