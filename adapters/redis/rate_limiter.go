package redis

import (
	"cmp"
	"context"
	"strings"
	"time"

	"github.com/go-redis/redis_rate/v10"
	goredis "github.com/redis/go-redis/v9"

	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
)

// RateLimiterConfig configures a RateLimiter.
type RateLimiterConfig struct {
	// PerSecond is the sustained rate each key may act at. Required.
	PerSecond int
	// Burst is how many actions a key may take at once after being idle
	// (default PerSecond).
	Burst int
}

// RateLimiter implements ports.RateLimiter with the GCRA of
// go-redis/redis_rate: one small key per limited key,
// {prefix}rate_limit:{key}, updated atomically by a Lua script, so every node
// shares the budget.
type RateLimiter struct {
	c       *Client
	limiter *redis_rate.Limiter
	limit   redis_rate.Limit
}

var _ ports.RateLimiter = (*RateLimiter)(nil)

// NewRateLimiter returns a RateLimiter on c.
func NewRateLimiter(c *Client, cfg RateLimiterConfig) (*RateLimiter, error) {
	if c == nil {
		return nil, domain.Errorf(domain.KindInvalid, "redis rate limiter: nil client")
	}
	cfg.Burst = cmp.Or(cfg.Burst, cfg.PerSecond)
	if cfg.PerSecond <= 0 || cfg.Burst <= 0 {
		return nil, domain.Errorf(domain.KindInvalid, "redis rate limiter: PerSecond and Burst must be positive")
	}
	limit := redis_rate.PerSecond(cfg.PerSecond)
	limit.Burst = cfg.Burst
	return &RateLimiter{
		c:       c,
		limiter: redis_rate.NewLimiter(prefixed{Client: c.rdb, prefix: c.prefix + "rate_limit:"}),
		limit:   limit,
	}, nil
}

// Allow consumes one unit of key's budget: nil when allowed, KindRateLimited
// when spent. Errors: KindRateLimited, KindUnavailable (callers fail open).
func (r *RateLimiter) Allow(ctx context.Context, key string) error {
	ctx, cancel := r.c.bound(ctx)
	defer cancel()
	res, err := r.limiter.Allow(ctx, key, r.limit)
	if err != nil {
		return translate(err)
	}
	if res.Allowed == 0 {
		wait := res.RetryAfter
		if wait < time.Millisecond {
			wait = time.Millisecond
		}
		return domain.Errorf(domain.KindRateLimited, "too many requests; retry in %s", wait.Round(time.Millisecond))
	}
	return nil
}

// rateKeyPrefix is the prefix redis_rate puts before every key it touches.
const rateKeyPrefix = "rate:"

// prefixed hands redis_rate a client whose keys start with our prefix
// instead of its fixed "rate:".
type prefixed struct {
	*goredis.Client
	prefix string
}

func (p prefixed) keys(keys []string) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = p.prefix + strings.TrimPrefix(k, rateKeyPrefix)
	}
	return out
}

func (p prefixed) Eval(ctx context.Context, script string, keys []string, args ...any) *goredis.Cmd {
	return p.Client.Eval(ctx, script, p.keys(keys), args...)
}

func (p prefixed) EvalSha(ctx context.Context, sha1 string, keys []string, args ...any) *goredis.Cmd {
	return p.Client.EvalSha(ctx, sha1, p.keys(keys), args...)
}

func (p prefixed) EvalRO(ctx context.Context, script string, keys []string, args ...any) *goredis.Cmd {
	return p.Client.EvalRO(ctx, script, p.keys(keys), args...)
}

func (p prefixed) EvalShaRO(ctx context.Context, sha1 string, keys []string, args ...any) *goredis.Cmd {
	return p.Client.EvalShaRO(ctx, sha1, p.keys(keys), args...)
}

func (p prefixed) Del(ctx context.Context, keys ...string) *goredis.IntCmd {
	return p.Client.Del(ctx, p.keys(keys)...)
}
