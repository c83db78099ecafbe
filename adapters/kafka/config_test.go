package kafka_test

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	ckafka "github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/adapters/kafka"
	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
)

func TestOnlyBatchedTopicsWithAWaitLetRecordsPileUp(t *testing.T) {
	tests := []struct {
		name         string
		cfg          kafka.Config
		topic        string
		wait, minLen any
	}{
		{"messages answered at once by default", kafka.Config{}, ports.TopicChatMessages, 100, 1},
		{"typing by default", kafka.Config{}, ports.TopicTyping, 100, 1},
		{"configured wait", kafka.Config{FetchWait: 25 * time.Millisecond, FetchMinBytes: 1 << 10}, ports.TopicChatMessages, 25, 1 << 10},
		{"configured wait, default size", kafka.Config{FetchWait: 10 * time.Millisecond}, ports.TopicChatMessages, 10, 64 << 10},
		{"typing not batched with a wait", kafka.Config{FetchWait: 10 * time.Millisecond}, ports.TopicTyping, 100, 1},
		{"no batched topics", kafka.Config{FetchWait: 10 * time.Millisecond, BatchedTopics: []string{}}, ports.TopicChatMessages, 100, 1},
		{"another batched topic", kafka.Config{FetchWait: 10 * time.Millisecond, BatchedTopics: []string{ports.TopicTyping}}, ports.TopicTyping, 10, 64 << 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Brokers = "127.0.0.1:9"
			wait, minLen, err := kafka.FetchSettings(tt.cfg, tt.topic)
			require.NoError(t, err)
			assert.Equal(t, tt.wait, wait)
			assert.Equal(t, tt.minLen, minLen)
		})
	}
}

func TestDebugContextsReachLibrdkafka(t *testing.T) {
	_, err := kafka.NewPublisher(kafka.Config{Brokers: "127.0.0.1:9", Debug: "no-such-context"})
	require.Error(t, err)
	assert.Equal(t, domain.KindInvalid, domain.KindOf(err))
	assert.Contains(t, err.Error(), "debug")

	var mu sync.Mutex
	var debug []string
	h := handlerFunc(func(r slog.Record) {
		if r.Level == slog.LevelDebug && strings.HasPrefix(r.Message, "librdkafka: ") {
			mu.Lock()
			debug = append(debug, r.Message)
			mu.Unlock()
		}
	})
	// Port 9 (discard) refuses on loopback: librdkafka logs its broker state
	// changes under the "broker" context.
	p, err := kafka.NewPublisher(kafka.Config{Brokers: "127.0.0.1:9", Debug: "broker", Logger: slog.New(h)})
	require.NoError(t, err)
	defer func() { require.NoError(t, p.Close()) }()
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(debug) > 0
	}, 10*time.Second, 10*time.Millisecond, "debug lines logged")

	quiet := handlerFunc(func(r slog.Record) {
		if r.Level == slog.LevelDebug && strings.HasPrefix(r.Message, "librdkafka: ") {
			t.Errorf("debug line without Debug set: %s", r.Message)
		}
	})
	p2, err := kafka.NewPublisher(kafka.Config{Brokers: "127.0.0.1:9", Logger: slog.New(quiet)})
	require.NoError(t, err)
	time.Sleep(200 * time.Millisecond)
	require.NoError(t, p2.Close())
}

// handlerFunc is a slog.Handler that passes every record to a function.
type handlerFunc func(slog.Record)

func (f handlerFunc) Enabled(context.Context, slog.Level) bool      { return true }
func (f handlerFunc) Handle(_ context.Context, r slog.Record) error { f(r); return nil }
func (f handlerFunc) WithAttrs([]slog.Attr) slog.Handler            { return f }
func (f handlerFunc) WithGroup(string) slog.Handler                 { return f }

func TestGroupProtocolAndStaticMembership(t *testing.T) {
	base := kafka.Config{Brokers: "127.0.0.1:9", SessionTimeout: 3 * time.Second}
	classic, err := kafka.ConsumerSettings(base, "g", "chat-messages")
	require.NoError(t, err)
	assert.Equal(t, 3000, classic["session.timeout.ms"])
	assert.Equal(t, "cooperative-sticky", classic["partition.assignment.strategy"])
	assert.NotContains(t, classic, "group.protocol")
	assert.NotContains(t, classic, "group.instance.id")

	next := base
	next.GroupProtocol, next.InstanceID = kafka.GroupProtocolConsumer, "node-1"
	consumer, err := kafka.ConsumerSettings(next, "g", "chat-messages")
	require.NoError(t, err)
	assert.Equal(t, "consumer", consumer["group.protocol"])
	assert.Equal(t, "node-1-chat-messages-0", consumer["group.instance.id"], "one id per member")
	for _, classicOnly := range []string{"session.timeout.ms", "heartbeat.interval.ms", "partition.assignment.strategy"} {
		assert.NotContains(t, consumer, classicOnly, "librdkafka refuses it with the consumer protocol")
	}
	// librdkafka accepts the settings.
	c, err := ckafka.NewConsumer(&consumer)
	require.NoError(t, err)
	require.NoError(t, c.Close())

	for name, bad := range map[string]kafka.Config{
		"unknown protocol":  {Brokers: "x:1", GroupProtocol: "eager"},
		"illegal instance":  {Brokers: "x:1", InstanceID: "a:b"},
		"isr over replicas": {Brokers: "x:1", ReplicationFactor: 1, MinInSyncReplicas: 2},
	} {
		_, err := kafka.ConsumerSettings(bad, "g", "t")
		assert.Equal(t, domain.KindInvalid, domain.KindOf(err), name)
	}
}
