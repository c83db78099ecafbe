package server_test

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/messenger-go/messenger/internal/server"
	"github.com/messenger-go/messenger/ports"
)

type composeFile struct {
	Services map[string]struct {
		Image       string            `yaml:"image"`
		Command     any               `yaml:"command"`
		Entrypoint  any               `yaml:"entrypoint"`
		Environment map[string]string `yaml:"environment"`
		Ports       []string          `yaml:"ports"`
	} `yaml:"services"`
}

// TestComposeStackMatchesTheServer checks docker-compose.yaml where no Docker
// engine is at hand: it parses, has the guide's services (KRaft Kafka, no
// ZooKeeper), the guide's Sentinel settings and topics, and its server
// environment is a valid production configuration of this binary.
func TestComposeStackMatchesTheServer(t *testing.T) {
	_, file, _, _ := runtime.Caller(0)
	data, err := os.ReadFile(filepath.Join(filepath.Dir(file), "..", "..", "docker-compose.yaml"))
	require.NoError(t, err)
	var c composeFile
	require.NoError(t, yaml.Unmarshal(data, &c))

	for _, name := range []string{"postgres", "redis-master", "redis-replica", "redis-sentinel-1", "redis-sentinel-2", "redis-sentinel-3", "kafka-1", "kafka-2", "kafka-3", "kafka-controller-1", "kafka-controller-2", "kafka-controller-3", "server-1", "server-2", "lb"} {
		assert.Contains(t, c.Services, name)
	}
	for name := range c.Services {
		assert.NotContains(t, name, "zookeeper")
	}
	assert.Contains(t, c.Services["redis-master"].Command, "--port 6379")
	assert.Contains(t, c.Services["redis-replica"].Command, "--replicaof redis-master 6379")

	// KRaft: three brokers and a quorum of three dedicated controllers, so
	// that a broker's death never takes the active controller with it.
	const voters = "101@kafka-controller-1:9093,102@kafka-controller-2:9093,103@kafka-controller-3:9093"
	for i := 1; i <= 3; i++ {
		kafka := c.Services[fmt.Sprintf("kafka-%d", i)].Environment
		assert.Equal(t, "broker", kafka["KAFKA_PROCESS_ROLES"])
		assert.Equal(t, strconv.Itoa(i), kafka["KAFKA_NODE_ID"])
		assert.Equal(t, fmt.Sprintf("PLAINTEXT://kafka-%d:9092", i), kafka["KAFKA_ADVERTISED_LISTENERS"])
		assert.Equal(t, voters, kafka["KAFKA_CONTROLLER_QUORUM_VOTERS"])
		assert.Equal(t, "3", kafka["KAFKA_DEFAULT_REPLICATION_FACTOR"])
		assert.Equal(t, "2", kafka["KAFKA_MIN_INSYNC_REPLICAS"])
		assert.Equal(t, "3", kafka["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"])

		controller := c.Services[fmt.Sprintf("kafka-controller-%d", i)].Environment
		assert.Equal(t, "controller", controller["KAFKA_PROCESS_ROLES"])
		assert.Equal(t, strconv.Itoa(100+i), controller["KAFKA_NODE_ID"])
		assert.Equal(t, "CONTROLLER://:9093", controller["KAFKA_LISTENERS"])
		assert.Equal(t, voters, controller["KAFKA_CONTROLLER_QUORUM_VOTERS"])
		assert.Equal(t, kafka["KAFKA_BROKER_SESSION_TIMEOUT_MS"], controller["KAFKA_BROKER_SESSION_TIMEOUT_MS"],
			"the controllers keep the brokers' sessions")
		assert.Equal(t, "3", controller["KAFKA_DEFAULT_REPLICATION_FACTOR"], "the controllers apply topic defaults")
	}
	for name, svc := range c.Services {
		for _, p := range svc.Ports {
			assert.True(t, strings.HasPrefix(p, "127.0.0.1:"), "%s publishes %s beyond the loopback", name, p)
		}
	}

	sentinel := flatten(c.Services["redis-sentinel-1"].Command)
	for _, line := range []string{
		"sentinel monitor mymaster redis-master 6379 2",
		"sentinel down-after-milliseconds mymaster 5000",
		"sentinel failover-timeout mymaster 10000",
		"sentinel parallel-syncs mymaster 1",
		"sentinel auth-pass mymaster redispass123",
	} {
		assert.Contains(t, sentinel, line)
	}

	topics := flatten(c.Services["kafka-topics"].Entrypoint)
	for topic, partitions := range map[string]string{
		ports.TopicChatMessages: "10", ports.TopicTyping: "5", ports.TopicReadReceipts: "5", ports.TopicFriendEvents: "1",
	} {
		assert.Contains(t, topics, topic+":"+partitions)
	}
	assert.Contains(t, topics, "--replication-factor 3 --config min.insync.replicas=2")

	for _, name := range []string{"server-1", "server-2"} {
		env := c.Services[name].Environment
		cfg, err := server.LoadConfig(func(k string) string { return env[k] })
		require.NoError(t, err, "%s: the compose environment is a valid configuration", name)
		assert.True(t, cfg.Production)
		assert.False(t, cfg.Embedded())
		assert.Contains(t, cfg.DatabaseURL, "@postgres:5432/messenger")
		assert.Equal(t, []string{"redis-sentinel-1:26379", "redis-sentinel-2:26379", "redis-sentinel-3:26379"}, cfg.RedisSentinels)
		assert.Equal(t, "kafka-1:9092,kafka-2:9092,kafka-3:9092", cfg.KafkaBrokers)
		assert.Equal(t, ":3000", cfg.Addr)
		assert.Equal(t, name, cfg.NodeID, "each replica has its own node id")
		assert.Equal(t, c.Services["postgres"].Environment["POSTGRES_PASSWORD"], env["DB_PASSWORD"])
		assert.Contains(t, flatten(c.Services["redis-master"].Command), "--requirepass "+env["REDIS_PASSWORD"])
	}
}

func flatten(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case []any:
		parts := make([]string, len(v))
		for i, p := range v {
			parts[i] = flatten(p)
		}
		return strings.Join(parts, "\n")
	}
	return ""
}
