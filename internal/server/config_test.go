package server_test

import (
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
	assert.Equal(t, 3*time.Millisecond, kc.Linger)
	assert.Equal(t, 10*time.Millisecond, kc.FetchWait)
	assert.Equal(t, 5*time.Millisecond, kc.BatchMaxWait)
	assert.Empty(t, kc.Debug)

	c, err = server.LoadConfig(env(map[string]string{"KAFKA_BROKERS": "kafka:9092",
		"MESSENGER_KAFKA_LINGER": "0", "MESSENGER_KAFKA_FETCH_WAIT": "50ms", "MESSENGER_KAFKA_BATCH_WAIT": "0",
		"MESSENGER_KAFKA_DEBUG": "broker,msg"}))
	require.NoError(t, err)
	kc = server.KafkaConfig(c, nil)
	assert.Equal(t, time.Duration(0), kc.Linger)
	assert.Equal(t, 50*time.Millisecond, kc.FetchWait)
	assert.Negative(t, kc.BatchMaxWait, "0 means no wait, which the adapter spells negative")
	assert.Equal(t, "broker,msg", kc.Debug)
}
