package memory_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/adapters/memory"
	"github.com/messenger-go/messenger/ports"
	"github.com/messenger-go/messenger/ports/portstest"
)

func TestLog(t *testing.T) {
	portstest.RunLog(t, func(t *testing.T, topic string, partitions int) (ports.Publisher, ports.Subscriber) {
		l, err := memory.NewLog(memory.LogConfig{Topics: map[string]int{topic: partitions}})
		require.NoError(t, err)
		t.Cleanup(func() { require.NoError(t, l.Close()) })
		return l, l
	})
}

func TestPresence(t *testing.T) {
	portstest.RunPresence(t, func(t *testing.T) ports.Presence { return memory.NewPresence(memory.PresenceConfig{}) })
}

func TestUnreadCache(t *testing.T) {
	portstest.RunUnreadCache(t, func(t *testing.T) ports.UnreadCache { return memory.NewUnreadCache(memory.UnreadCacheConfig{}) })
}

func TestRateLimiter(t *testing.T) {
	portstest.RunRateLimiter(t, func(t *testing.T, perSecond int) ports.RateLimiter {
		l, err := memory.NewRateLimiter(memory.RateLimiterConfig{PerSecond: float64(perSecond)})
		require.NoError(t, err)
		return l
	})
}
