package redis_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/adapters/redis"
	"github.com/messenger-go/messenger/domain"
)

func TestRateLimiter(t *testing.T) {
	e := redisEnv(t)
	c := open(t, e)
	limiter, err := redis.NewRateLimiter(c, redis.RateLimiterConfig{PerSecond: 5, Burst: 3})
	require.NoError(t, err)
	ctx := t.Context()

	for i := range 3 {
		require.NoError(t, limiter.Allow(ctx, "send:alice"), "burst request %d", i)
	}
	err = limiter.Allow(ctx, "send:alice")
	require.Error(t, err, "the burst is spent")
	assert.Equal(t, domain.KindRateLimited, domain.KindOf(err))
	assert.Contains(t, domain.MessageOf(err), "retry in")

	// Another key has its own budget, another limiter on the same keys shares it.
	require.NoError(t, limiter.Allow(ctx, "send:bob"))
	other, err := redis.NewRateLimiter(open(t, e), redis.RateLimiterConfig{PerSecond: 5, Burst: 3})
	require.NoError(t, err)
	assert.Equal(t, domain.KindRateLimited, domain.KindOf(other.Allow(ctx, "send:alice")), "nodes share the budget")

	// At 5/s one unit comes back within 200 ms.
	time.Sleep(250 * time.Millisecond)
	require.NoError(t, limiter.Allow(ctx, "send:alice"))

	for _, k := range keys(t, raw(t, e), "") {
		if strings.Contains(k, "send:alice") || strings.Contains(k, "send:bob") {
			assert.True(t, strings.HasPrefix(k, e.Prefix+"rate_limit:"), "key %q is outside the prefix", k)
		}
	}
	assert.Len(t, keys(t, raw(t, e), e.Prefix+"rate_limit:"), 2)
}

func TestNewRateLimiterValidates(t *testing.T) {
	c, err := redis.Open(redis.Config{Addr: "127.0.0.1:1"})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	tests := []struct {
		name string
		cfg  redis.RateLimiterConfig
		ok   bool
	}{
		{name: "rate only", cfg: redis.RateLimiterConfig{PerSecond: 10}, ok: true},
		{name: "zero rate", cfg: redis.RateLimiterConfig{}},
		{name: "negative burst", cfg: redis.RateLimiterConfig{PerSecond: 10, Burst: -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := redis.NewRateLimiter(c, tt.cfg)
			if tt.ok {
				require.NoError(t, err)
				return
			}
			assert.Equal(t, domain.KindInvalid, domain.KindOf(err))
		})
	}
}
