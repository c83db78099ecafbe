package memory

import (
	"context"
	"math"
	"sync"
	"time"

	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
)

// RateLimiterConfig configures a RateLimiter.
type RateLimiterConfig struct {
	// PerSecond is the sustained rate allowed per key. Required, above zero.
	PerSecond float64
	// Burst is how many actions a key may take at once after being idle.
	// Default PerSecond rounded up.
	Burst int
	// Clock tells the time. Default ports.SystemClock.
	Clock ports.Clock
}

// RateLimiter is a token bucket per key, in memory. It implements
// ports.RateLimiter.
type RateLimiter struct {
	rate  float64
	burst float64
	clock ports.Clock

	mu      sync.Mutex
	buckets map[string]*bucket
	calls   int // since the last sweep
}

type bucket struct {
	tokens float64
	last   time.Time
}

var _ ports.RateLimiter = (*RateLimiter)(nil)

// NewRateLimiter returns a limiter. Errors: KindInvalid for a rate or burst
// that is not positive.
func NewRateLimiter(cfg RateLimiterConfig) (*RateLimiter, error) {
	if !(cfg.PerSecond > 0) || math.IsInf(cfg.PerSecond, 0) || cfg.Burst < 0 {
		return nil, domain.Errorf(domain.KindInvalid, "rate limiter needs a positive rate and burst")
	}
	if cfg.Burst == 0 {
		cfg.Burst = int(math.Ceil(cfg.PerSecond))
	}
	if cfg.Clock == nil {
		cfg.Clock = ports.SystemClock{}
	}
	return &RateLimiter{rate: cfg.PerSecond, burst: float64(cfg.Burst), clock: cfg.Clock, buckets: map[string]*bucket{}}, nil
}

// Allow takes one token from key's bucket. Errors: KindRateLimited when empty.
func (l *RateLimiter) Allow(ctx context.Context, key string) error {
	if err := live(ctx); err != nil {
		return err
	}
	now := l.clock.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.calls++; l.calls >= sweepEvery {
		l.sweepLocked(now)
	}
	b, ok := l.buckets[key]
	if !ok {
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[key] = b
	}
	l.refill(b, now)
	if b.tokens < 1 {
		return domain.Errorf(domain.KindRateLimited, "too many requests")
	}
	b.tokens--
	return nil
}

func (l *RateLimiter) refill(b *bucket, now time.Time) {
	if elapsed := now.Sub(b.last); elapsed > 0 {
		b.tokens = min(l.burst, b.tokens+elapsed.Seconds()*l.rate)
		b.last = now
	}
}

// sweepLocked forgets full buckets: a new bucket starts full anyway.
func (l *RateLimiter) sweepLocked(now time.Time) {
	l.calls = 0
	for k, b := range l.buckets {
		if l.refill(b, now); b.tokens >= l.burst {
			delete(l.buckets, k)
		}
	}
}
