package portstest

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
)

// Clock is a ports.Clock that moves only when told; the Throttle suite drives
// the implementations' time with it.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a Clock at a fixed time.
func NewClock() *Clock { return &Clock{now: epoch} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Add moves the clock by d.
func (c *Clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// RunThrottle runs the contract of ports.Throttle. newThrottle returns a
// throttle that reads the time from clock (and from nowhere else: the suite
// moves clock by hours without waiting).
func RunThrottle(t *testing.T, newThrottle func(t *testing.T, clock ports.Clock) ports.Throttle) {
	policy := ports.Backoff{Free: 3, Delay: time.Second, MaxDelay: 4 * time.Second, Window: time.Hour}
	key := func() string { return "k-" + token(12) }
	check := func(t *testing.T, th ports.Throttle, key string) time.Duration {
		t.Helper()
		wait, err := th.Check(t.Context(), key)
		require.NoError(t, err)
		return wait
	}
	record := func(t *testing.T, th ports.Throttle, key string, b ports.Backoff) time.Duration {
		t.Helper()
		wait, err := th.Record(t.Context(), key, b)
		require.NoError(t, err)
		return wait
	}

	t.Run("an unknown key need not wait", func(t *testing.T) {
		th := newThrottle(t, NewClock())
		assert.Zero(t, check(t, th, key()))
	})

	t.Run("free attempts, then waits that double up to the cap", func(t *testing.T) {
		th := newThrottle(t, NewClock())
		k := key()
		for i := range 2 {
			assert.Zero(t, record(t, th, k, policy), "attempt %d is free", i+1)
			assert.Zero(t, check(t, th, k))
		}
		for i, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 4 * time.Second} {
			assert.Equal(t, want, record(t, th, k, policy), "attempt %d", i+3)
			assert.Equal(t, want, check(t, th, k), "Check after attempt %d", i+3)
		}
	})

	t.Run("the wait runs out", func(t *testing.T) {
		clock := NewClock()
		th := newThrottle(t, clock)
		k := key()
		for range policy.Free {
			record(t, th, k, policy)
		}
		clock.Add(999 * time.Millisecond)
		assert.Equal(t, time.Millisecond, check(t, th, k))
		clock.Add(time.Millisecond)
		assert.Zero(t, check(t, th, k))
		assert.Equal(t, 2*time.Second, record(t, th, k, policy), "the count is kept: the next attempt waits longer")
	})

	t.Run("Reset forgets the count and the wait", func(t *testing.T) {
		th := newThrottle(t, NewClock())
		k := key()
		for range policy.Free + 1 {
			record(t, th, k, policy)
		}
		require.Positive(t, check(t, th, k))
		require.NoError(t, th.Reset(t.Context(), k))
		assert.Zero(t, check(t, th, k))
		assert.Zero(t, record(t, th, k, policy), "counting starts again")
		require.NoError(t, th.Reset(t.Context(), key()), "resetting an unknown key")
	})

	t.Run("the count is forgotten a window after the last attempt", func(t *testing.T) {
		clock := NewClock()
		th := newThrottle(t, clock)
		b := ports.Backoff{Free: 2, Delay: time.Second, MaxDelay: time.Second, Window: 10 * time.Second}
		k := key()
		assert.Zero(t, record(t, th, k, b))
		clock.Add(9 * time.Second)
		assert.Equal(t, time.Second, record(t, th, k, b), "within the window the count is kept")
		clock.Add(10 * time.Second)
		assert.Zero(t, check(t, th, k))
		assert.Zero(t, record(t, th, k, b), "a window later counting starts again")
	})

	t.Run("keys are independent", func(t *testing.T) {
		th := newThrottle(t, NewClock())
		k1, k2 := key(), key()
		for range policy.Free {
			record(t, th, k1, policy)
		}
		assert.Positive(t, check(t, th, k1))
		assert.Zero(t, check(t, th, k2))
		assert.Zero(t, record(t, th, k2, policy))
	})

	t.Run("concurrent attempts each count", func(t *testing.T) {
		th := newThrottle(t, NewClock())
		k := key()
		b := ports.Backoff{Free: 20, Delay: time.Second, MaxDelay: time.Hour, Window: time.Hour}
		var wg sync.WaitGroup
		errs := make(chan error, b.Free)
		for range b.Free {
			wg.Go(func() {
				_, err := th.Record(t.Context(), k, b)
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
		assert.Equal(t, time.Second, check(t, th, k), "the 20th attempt imposed the first wait")
		assert.Equal(t, 2*time.Second, record(t, th, k, b), "and the next one the second")
	})

	t.Run("an invalid policy is refused", func(t *testing.T) {
		th := newThrottle(t, NewClock())
		for name, b := range map[string]ports.Backoff{
			"no free attempt":         {Free: 0, Delay: time.Second, MaxDelay: time.Second, Window: time.Hour},
			"no delay":                {Free: 1, MaxDelay: time.Second, Window: time.Hour},
			"cap below the delay":     {Free: 1, Delay: time.Minute, MaxDelay: time.Second, Window: time.Hour},
			"window shorter than cap": {Free: 1, Delay: time.Second, MaxDelay: time.Hour, Window: time.Minute},
		} {
			_, err := th.Record(t.Context(), key(), b)
			assert.Equal(t, domain.KindInvalid, domain.KindOf(err), "%s: %v", name, err)
		}
	})
}
