package kafka_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/adapters/kafka"
	"github.com/messenger-go/messenger/ports"
	"github.com/messenger-go/messenger/ports/portstest"
)

func TestLogContract(t *testing.T) {
	t.Parallel()
	portstest.RunLog(t, func(t *testing.T, topic string, partitions int) (ports.Publisher, ports.Subscriber) {
		cfg := env(t)
		require.NoError(t, kafka.EnsureTopics(t.Context(), cfg, map[string]int{topic: partitions}))
		return newPublisher(t, cfg), newSubscriber(t, cfg)
	})
}
