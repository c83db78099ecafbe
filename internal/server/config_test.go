package server_test

import (
	"flag"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/internal/server"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestLoadConfigEmbeddedDefault(t *testing.T) {
	c, err := server.LoadConfig(env(nil))
	require.NoError(t, err)
	assert.True(t, c.Embedded())
	assert.Equal(t, ":3000", c.Addr)
	assert.Equal(t, "messenger", c.JWTIssuer)
	assert.Equal(t, 15*time.Minute, c.AccessTokenTTL)
	assert.Equal(t, 50, c.SendRateLimit)
	assert.Equal(t, "127.0.0.1:9464", c.MetricsAddr, "metrics on loopback unless asked otherwise")
	assert.False(t, c.Pprof)
	assert.False(t, c.TLS())
	assert.Equal(t, 64<<10, c.MaxHeaderBytes)
	for name, d := range map[string]time.Duration{"read header": c.ReadHeaderTimeout, "read": c.ReadTimeout, "write": c.WriteTimeout, "idle": c.IdleTimeout} {
		assert.Positive(t, d, "the %s timeout is set by default", name)
	}
}

func TestLoadConfigGuideEnv(t *testing.T) {
	// The architecture guide's server/.env, verbatim.
	c, err := server.LoadConfig(env(map[string]string{
		"DB_HOST": "postgres", "DB_USER": "postgres", "DB_PASSWORD": "mysecretpassword",
		"DB_NAME": "messenger", "DB_PORT": "5432",
		"REDIS_SENTINEL": "true", "REDIS_PASSWORD": "redispass123",
		"REDIS_SENTINEL_HOST_1": "redis-sentinel-1", "REDIS_SENTINEL_HOST_2": "redis-sentinel-2",
		"REDIS_SENTINEL_HOST_3": "redis-sentinel-3:26390",
		"KAFKA_BROKERS":         "kafka:9092", "PORT": "3000", "NODE_ENV": "production",
		"MESSENGER_JWT_PRIVATE_KEY_FILE": "/keys/jwt.pem",
	}))
	require.NoError(t, err)
	assert.False(t, c.Embedded())
	assert.True(t, c.Production)
	assert.Equal(t, "postgres://postgres:mysecretpassword@postgres:5432/messenger?sslmode=prefer", c.DatabaseURL)
	assert.Equal(t, []string{"redis-sentinel-1:26379", "redis-sentinel-2:26379", "redis-sentinel-3:26390"}, c.RedisSentinels)
	assert.Equal(t, "mymaster", c.RedisMasterName)
	assert.Equal(t, "redispass123", c.RedisPassword)
	assert.Equal(t, "kafka:9092", c.KafkaBrokers)
	assert.Equal(t, ":3000", c.Addr)
}

func TestLoadConfigRejects(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want []string
	}{
		{"production without dependencies", map[string]string{"NODE_ENV": "production"},
			[]string{"DB_HOST", "KAFKA_BROKERS", "MESSENGER_JWT_PRIVATE_KEY_FILE", "REDIS_SENTINEL_HOST_1"}},
		{"sentinel without hosts", map[string]string{"REDIS_SENTINEL": "true"}, []string{"REDIS_SENTINEL is true"}},
		{"bad numbers and durations", map[string]string{"PORT": "http", "MESSENGER_ACCESS_TOKEN_TTL": "soon", "MESSENGER_SEND_RATE_LIMIT": "-1"},
			[]string{"PORT", "MESSENGER_ACCESS_TOKEN_TTL", "MESSENGER_SEND_RATE_LIMIT"}},
		{"bad partitions", map[string]string{"MESSENGER_KAFKA_PARTITIONS": "chat-messages=0"}, []string{"MESSENGER_KAFKA_PARTITIONS"}},
		{"bad log level", map[string]string{"MESSENGER_LOG_LEVEL": "loud"}, []string{"MESSENGER_LOG_LEVEL"}},
		{"bad booleans and negative durations", map[string]string{"MESSENGER_MIGRATE": "maybe", "MESSENGER_SHUTDOWN_TIMEOUT": "-1s", "PORT": "70000"},
			[]string{"MESSENGER_MIGRATE must be true or false", "MESSENGER_SHUTDOWN_TIMEOUT must be a duration", "PORT must be a TCP port"}},
		{"bad log format", map[string]string{"MESSENGER_LOG_FORMAT": "xml"}, []string{"MESSENGER_LOG_FORMAT must be json or text"}},
		{"certificate without key", map[string]string{"MESSENGER_TLS_CERT_FILE": "/tls/tls.crt"}, []string{"MESSENGER_TLS_CERT_FILE and MESSENGER_TLS_KEY_FILE must be set together"}},
		{"profiles without the metrics listener", map[string]string{"MESSENGER_PPROF": "true", "MESSENGER_METRICS_ADDR": "off"}, []string{"MESSENGER_PPROF needs the metrics listener"}},
		{"tiny header limit", map[string]string{"MESSENGER_MAX_HEADER_BYTES": "100"}, []string{"MESSENGER_MAX_HEADER_BYTES must be at least 4096"}},
		{"bad socket limits", map[string]string{"MESSENGER_WS_FRAME_RATE": "-1", "MESSENGER_WS_FRAME_BURST": "0", "MESSENGER_WS_SOCKETS_PER_USER": "-2", "MESSENGER_WS_READ_TIMEOUT": "10ms"},
			[]string{"MESSENGER_WS_FRAME_RATE must not be negative", "MESSENGER_WS_FRAME_BURST must be at least 1", "MESSENGER_WS_SOCKETS_PER_USER must not be negative", "MESSENGER_WS_READ_TIMEOUT must be at least 1s"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := server.LoadConfig(env(tc.env))
			require.Error(t, err)
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w, "every problem is reported")
			}
		})
	}
}

func TestLoadConfigKafkaWaits(t *testing.T) {
	c, err := server.LoadConfig(env(map[string]string{"KAFKA_BROKERS": "kafka:9092"}))
	require.NoError(t, err)
	kc := server.KafkaConfig(c, nil)
	assert.Equal(t, time.Duration(0), kc.Linger, "no wait when idle")
	assert.Equal(t, time.Duration(0), kc.FetchWait, "no wait when idle")
	assert.Equal(t, time.Duration(0), kc.BatchMaxWait, "no wait when idle")
	assert.Empty(t, kc.Debug)

	c, err = server.LoadConfig(env(map[string]string{"KAFKA_BROKERS": "kafka:9092",
		"MESSENGER_KAFKA_LINGER": "3ms", "MESSENGER_KAFKA_FETCH_WAIT": "50ms", "MESSENGER_KAFKA_BATCH_WAIT": "5ms",
		"MESSENGER_KAFKA_DEBUG": "broker,msg"}))
	require.NoError(t, err)
	kc = server.KafkaConfig(c, nil)
	assert.Equal(t, 3*time.Millisecond, kc.Linger)
	assert.Equal(t, 50*time.Millisecond, kc.FetchWait)
	assert.Equal(t, 5*time.Millisecond, kc.BatchMaxWait)
	assert.Equal(t, "broker,msg", kc.Debug)
}

func TestLoadConfigTrimsAndSplits(t *testing.T) {
	c, err := server.LoadConfig(env(map[string]string{
		"MESSENGER_ALLOWED_ORIGINS":  " https://a.example , ,https://b.example ",
		"MESSENGER_KAFKA_PARTITIONS": "chat-messages=10, typing-indicators = 5",
		"MESSENGER_REDIS_SENTINELS":  "s1:26379,s2:26379",
		"REDIS_SENTINEL":             "true", "REDIS_SENTINEL_HOST_1": "ignored",
		"MESSENGER_ADDR": " 127.0.0.1:3101 ", "PORT": "4000",
		"MESSENGER_JWT_ISSUER": "   ", // blank counts as unset
	}))
	require.NoError(t, err)
	assert.Equal(t, []string{"https://a.example", "https://b.example"}, c.AllowedOrigins)
	assert.Equal(t, map[string]int{"chat-messages": 10, "typing-indicators": 5}, c.KafkaPartitions)
	assert.Equal(t, []string{"s1:26379", "s2:26379"}, c.RedisSentinels, "MESSENGER_REDIS_SENTINELS wins over the HOST_n names")
	assert.Equal(t, "127.0.0.1:3101", c.Addr, "MESSENGER_ADDR wins over PORT")
	assert.Equal(t, "messenger", c.JWTIssuer)
}

var update = flag.Bool("update", false, "rewrite the table of docs/configuration.md from server.Config's tags")

// TestConfigurationTable fails when docs/configuration.md's table and
// server.Config's tags disagree; go generate ./internal/server rewrites it.
func TestConfigurationTable(t *testing.T) {
	_, file, _, _ := runtime.Caller(0)
	path := filepath.Join(filepath.Dir(file), "..", "..", "docs", "configuration.md")
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	const begin, end = "<!-- begin: generated from internal/server.Config by go generate ./internal/server -->\n", "<!-- end -->\n"
	head, rest, ok := strings.Cut(string(data), begin)
	require.True(t, ok, "docs/configuration.md has the begin marker")
	table, tail, ok := strings.Cut(rest, end)
	require.True(t, ok, "docs/configuration.md has the end marker")

	want := server.ConfigurationTable()
	if *update {
		require.NoError(t, os.WriteFile(path, []byte(head+begin+want+end+tail), 0o644))
		return
	}
	assert.Equal(t, want, table, "docs/configuration.md is out of date: run go generate ./internal/server")
	for _, name := range []string{"DB_HOST", "DB_USER", "DB_PASSWORD", "DB_NAME", "DB_PORT", "REDIS_SENTINEL", "REDIS_PASSWORD",
		"REDIS_SENTINEL_HOST_1", "REDIS_SENTINEL_HOST_2", "REDIS_SENTINEL_HOST_3", "KAFKA_BROKERS", "PORT", "NODE_ENV"} {
		assert.Contains(t, table, "| `"+name+"` |", "the guide's variable %s is documented", name)
	}
}
