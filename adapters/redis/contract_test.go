package redis_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/adapters/redis"
	"github.com/messenger-go/messenger/ports"
	"github.com/messenger-go/messenger/ports/portstest"
)

// The contract suites, against the real Redis through Sentinel, each instance
// under its own key prefix.

func TestPresenceContract(t *testing.T) {
	portstest.RunPresence(t, func(t *testing.T) ports.Presence {
		p, err := redis.NewPresence(open(t, redisEnv(t)), redis.PresenceConfig{})
		require.NoError(t, err)
		return p
	})
}

func TestUnreadCacheContract(t *testing.T) {
	portstest.RunUnreadCache(t, func(t *testing.T) ports.UnreadCache {
		c, err := redis.NewUnreadCache(open(t, redisEnv(t)), redis.UnreadCacheConfig{})
		require.NoError(t, err)
		return c
	})
}

func TestRateLimiterContract(t *testing.T) {
	portstest.RunRateLimiter(t, func(t *testing.T, perSecond int) ports.RateLimiter {
		l, err := redis.NewRateLimiter(open(t, redisEnv(t)), redis.RateLimiterConfig{PerSecond: perSecond, Burst: perSecond})
		require.NoError(t, err)
		return l
	})
}
