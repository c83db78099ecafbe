package memory

import (
	"context"
	"sync"
	"time"

	"github.com/messenger-go/messenger/ports"
)

// ThrottleConfig configures a Throttle.
type ThrottleConfig struct {
	// Clock tells the time. Default ports.SystemClock.
	Clock ports.Clock
}

// Throttle keeps the attempts of each key in memory, for one process. It
// implements ports.Throttle.
type Throttle struct {
	clock ports.Clock

	mu    sync.Mutex
	keys  map[string]*strikes
	calls int // since the last sweep
}

// strikes is the state of one key.
type strikes struct {
	count  int64
	last   time.Time // of the last Record
	until  time.Time // the key waits until then
	window time.Duration
}

func (s *strikes) expired(now time.Time) bool { return !now.Before(s.last.Add(s.window)) }

var _ ports.Throttle = (*Throttle)(nil)

// NewThrottle returns an empty Throttle.
func NewThrottle(cfg ThrottleConfig) *Throttle {
	if cfg.Clock == nil {
		cfg.Clock = ports.SystemClock{}
	}
	return &Throttle{clock: cfg.Clock, keys: map[string]*strikes{}}
}

// Check returns how long key must still wait.
func (t *Throttle) Check(ctx context.Context, key string) (time.Duration, error) {
	if err := live(ctx); err != nil {
		return 0, err
	}
	now := t.clock.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	s, ok := t.keys[key]
	if !ok || s.expired(now) {
		return 0, nil
	}
	return max(s.until.Sub(now), 0), nil
}

// Record counts one attempt of key under b and returns the wait it imposes.
func (t *Throttle) Record(ctx context.Context, key string, b ports.Backoff) (time.Duration, error) {
	if err := b.Validate(); err != nil {
		return 0, err
	}
	if err := live(ctx); err != nil {
		return 0, err
	}
	now := t.clock.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.calls++; t.calls >= sweepEvery {
		t.sweepLocked(now)
	}
	s, ok := t.keys[key]
	if !ok || s.expired(now) {
		s = &strikes{}
		t.keys[key] = s
	}
	s.count++
	s.last, s.window = now, b.Window
	if until := now.Add(b.WaitAfter(s.count)); until.After(s.until) {
		s.until = until
	}
	return max(s.until.Sub(now), 0), nil
}

// Reset forgets key.
func (t *Throttle) Reset(ctx context.Context, key string) error {
	if err := live(ctx); err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.keys, key)
	return nil
}

// sweepLocked forgets the keys whose window has passed.
func (t *Throttle) sweepLocked(now time.Time) {
	t.calls = 0
	for k, s := range t.keys {
		if s.expired(now) {
			delete(t.keys, k)
		}
	}
}
