package kafka_test

import (
	"context"
	"testing"
	"time"

	ckafka "github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/adapters/kafka"
	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
)

func TestTopicsAreTheGuides(t *testing.T) {
	assert.Equal(t, map[string]int{
		ports.TopicChatMessages: 10,
		ports.TopicTyping:       5,
		ports.TopicReadReceipts: 5,
		ports.TopicFriendEvents: 1,
	}, kafka.Topics())
}

func TestEnsureTopics(t *testing.T) {
	t.Parallel()
	cfg := env(t)
	topics := kafka.Topics()
	require.NoError(t, kafka.EnsureTopics(t.Context(), cfg, topics))
	want := map[string]int{}
	for name, n := range topics {
		want[cfg.TopicPrefix+name] = n
		want[cfg.TopicPrefix+ports.DeadLetterTopic(name)] = n
	}
	assert.Equal(t, want, partitionCounts(t, cfg.Brokers, want))

	t.Run("again, and with other partition counts, leaves them as they are", func(t *testing.T) {
		require.NoError(t, kafka.EnsureTopics(t.Context(), cfg, topics))
		require.NoError(t, kafka.EnsureTopics(t.Context(), cfg, map[string]int{ports.TopicFriendEvents: 3}))
		assert.Equal(t, want, partitionCounts(t, cfg.Brokers, want))
	})

	short, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	tooManyReplicas := cfg
	tooManyReplicas.ReplicationFactor = 4 // the test cluster has one broker or three
	unreachable := cfg
	unreachable.Brokers = "127.0.0.1:1"
	tests := []struct {
		name   string
		ctx    context.Context
		cfg    kafka.Config
		topics map[string]int
		kind   domain.Kind
	}{
		{name: "no partitions", cfg: cfg, topics: map[string]int{"zero": 0}, kind: domain.KindInvalid},
		{name: "illegal name", cfg: cfg, topics: map[string]int{"a:b": 1}, kind: domain.KindInvalid},
		{name: "more replicas than brokers", cfg: tooManyReplicas, topics: map[string]int{"replicas": 1}, kind: domain.KindInvalid},
		{name: "unreachable brokers", ctx: short, cfg: unreachable, topics: map[string]int{"any": 1}, kind: domain.KindUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := tt.ctx
			if ctx == nil {
				ctx = t.Context()
			}
			start := time.Now()
			err := kafka.EnsureTopics(ctx, tt.cfg, tt.topics)
			assert.Less(t, time.Since(start), 3*time.Second, "bounded by ctx")
			require.Error(t, err)
			assert.Equal(t, tt.kind, domain.KindOf(err), "error: %v", err)
		})
	}
}

// partitionCounts returns the partition count of each named topic that exists.
func partitionCounts(t *testing.T, brokers string, names map[string]int) map[string]int {
	t.Helper()
	admin, err := ckafka.NewAdminClient(&ckafka.ConfigMap{"bootstrap.servers": brokers, "log_level": 3})
	require.NoError(t, err)
	defer admin.Close()
	md, err := admin.GetMetadata(nil, true, 10000)
	require.NoError(t, err)
	got := map[string]int{}
	for name := range names {
		if tm, ok := md.Topics[name]; ok && tm.Error.Code() == ckafka.ErrNoError {
			got[name] = len(tm.Partitions)
		}
	}
	return got
}

// New topics get the configured min.insync.replicas, whatever the brokers'
// default (1 on one test broker, 2 on three).
func TestEnsureTopicsSetsMinInSyncReplicas(t *testing.T) {
	t.Parallel()
	cfg := env(t)
	cfg.MinInSyncReplicas = 3 // not checked against the replicas at creation
	require.NoError(t, kafka.EnsureTopics(t.Context(), cfg, map[string]int{"isr": 1}))
	admin, err := ckafka.NewAdminClient(&ckafka.ConfigMap{"bootstrap.servers": cfg.Brokers, "log_level": 3})
	require.NoError(t, err)
	defer admin.Close()
	for _, name := range []string{"isr", ports.DeadLetterTopic("isr")} {
		res, err := admin.DescribeConfigs(t.Context(), []ckafka.ConfigResource{{Type: ckafka.ResourceTopic, Name: cfg.TopicPrefix + name}})
		require.NoError(t, err)
		require.Len(t, res, 1)
		assert.Equal(t, "3", res[0].Config["min.insync.replicas"].Value, name)
	}
}
