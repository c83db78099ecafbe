package kafka_test

import (
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/adapters/kafka"
	"github.com/messenger-go/messenger/testenv"
)

// env returns a Config for the test broker, with a topic prefix of its own.
func env(t testing.TB) kafka.Config {
	t.Helper()
	k := testenv.Kafka(t)
	return kafka.Config{
		Brokers:     k.Brokers,
		TopicPrefix: k.TopicPrefix,
		Logger:      logger(t),
	}
}

func logger(t testing.TB) *slog.Logger {
	if os.Getenv("MESSENGER_TEST_KAFKA_LOG") == "" {
		return nil
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func random(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)[:n]
}

func newPublisher(t testing.TB, cfg kafka.Config) *kafka.Publisher {
	t.Helper()
	p, err := kafka.NewPublisher(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, p.Close()) })
	return p
}

func newSubscriber(t testing.TB, cfg kafka.Config) *kafka.Subscriber {
	t.Helper()
	s, err := kafka.NewSubscriber(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	return s
}
