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
	const rate, burst = 1, 3
	limiter, err := redis.NewRateLimiter(c, redis.RateLimiterConfig{PerSecond: rate, Burst: burst})
	require.NoError(t, err)
	other, err := redis.NewRateLimiter(open(t, e), redis.RateLimiterConfig{PerSecond: rate, Burst: burst})
	require.NoError(t, err)
	ctx := t.Context()

	// However slowly the calls go, the limit holds: what both limiters (two
	// nodes) let through for one key is at most the burst plus what the rate
	// gave back meanwhile, and once that is spent a call is refused.
	start := time.Now()
	allowed := 0
	var refused error
	for i := 0; refused == nil && i < 40; i++ {
		l := limiter
		if i%2 == 1 {
			l = other
		}
		if err := l.Allow(ctx, "send:alice"); err != nil {
			refused = err
			continue
		}
		allowed++
	}
	elapsed := time.Since(start)
	require.Error(t, refused, "the budget is never spent: %d calls allowed in %s", allowed, elapsed)
	assert.Equal(t, domain.KindRateLimited, domain.KindOf(refused))
	assert.Contains(t, domain.MessageOf(refused), "retry in")
	assert.GreaterOrEqual(t, allowed, burst, "the burst is allowed")
	assert.LessOrEqual(t, allowed, burst+int(elapsed.Seconds()*rate)+1, "nodes share one budget")

	// Another key has its own budget.
	require.NoError(t, limiter.Allow(ctx, "send:bob"))

	// The rate gives a unit back.
	require.Eventually(t, func() bool { return limiter.Allow(ctx, "send:alice") == nil }, 10*time.Second, 50*time.Millisecond)

	// The keys live under the prefix (bob's may have expired already: a
	// key lasts until its budget is whole again).
	for _, k := range keys(t, raw(t, e), "") {
		if strings.Contains(k, "send:alice") || strings.Contains(k, "send:bob") {
			assert.True(t, strings.HasPrefix(k, e.Prefix+"rate_limit:"), "key %q is outside the prefix", k)
		}
	}
	assert.Contains(t, keys(t, raw(t, e), e.Prefix+"rate_limit:"), e.Prefix+"rate_limit:send:alice")
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
