package kafka_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/adapters/kafka"
	"github.com/messenger-go/messenger/ports"
)

func TestOnlyBatchedTopicsWaitForRecordsToPileUp(t *testing.T) {
	tests := []struct {
		name         string
		cfg          kafka.Config
		topic        string
		wait, minLen any
	}{
		{"messages by default", kafka.Config{}, ports.TopicChatMessages, 10, 64 << 10},
		{"typing by default", kafka.Config{}, ports.TopicTyping, 100, 1},
		{"configured wait", kafka.Config{FetchWait: 25 * time.Millisecond, FetchMinBytes: 1 << 10}, ports.TopicChatMessages, 25, 1 << 10},
		{"no batched topics", kafka.Config{BatchedTopics: []string{}}, ports.TopicChatMessages, 100, 1},
		{"another batched topic", kafka.Config{BatchedTopics: []string{ports.TopicTyping}}, ports.TopicTyping, 10, 64 << 10},
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
