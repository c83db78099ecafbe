package wire_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/wire"
)

var start = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

func limiter(t *testing.T, l wire.FrameLimit) (wire.FrameLimit, *wire.FrameLimiter) {
	t.Helper()
	l, err := l.WithDefaults()
	require.NoError(t, err)
	return l, wire.NewFrameLimiter(l, start)
}

// counts takes n frames at times from at(i) and counts the verdicts.
func counts(f *wire.FrameLimiter, n int, at func(i int) time.Time) map[wire.Verdict]int {
	out := map[wire.Verdict]int{}
	for i := range n {
		out[f.Take(at(i))]++
	}
	return out
}

func TestFrameLimitDefaults(t *testing.T) {
	l, err := wire.FrameLimit{}.WithDefaults()
	require.NoError(t, err)
	assert.Equal(t, wire.FrameLimit{PerSecond: wire.DefaultFrameRate, Burst: wire.DefaultFrameBurst, Overrun: wire.DefaultFrameBurst}, l)

	l, err = wire.FrameLimit{PerSecond: 5, Burst: 7}.WithDefaults()
	require.NoError(t, err)
	assert.Equal(t, 7, l.Overrun, "the tolerance defaults to the burst")

	for _, bad := range []wire.FrameLimit{{Burst: -1}, {Overrun: -1}} {
		_, err := bad.WithDefaults()
		assert.Equal(t, domain.KindInvalid, domain.KindOf(err), "%+v", bad)
	}
}

// TestFrameLimiterFlood is the flood of 5,000 frames in 30 ms: the burst is
// served, one warning goes out, and the socket is closed once the tolerance
// is spent; nothing after that is served.
func TestFrameLimiterFlood(t *testing.T) {
	l, f := limiter(t, wire.FrameLimit{})
	got := counts(f, 5000, func(i int) time.Time { return start.Add(time.Duration(i) * 6 * time.Microsecond) })
	assert.Equal(t, l.Burst, got[wire.Serve], "the burst is served, a few more from the refill at most")
	assert.Equal(t, 1, got[wire.Warn], "one warning per overrun, not one per frame")
	assert.Equal(t, l.Overrun-1, got[wire.Refuse])
	assert.Equal(t, 5000-l.Burst-l.Overrun, got[wire.Close], "every frame after the tolerance is spent closes")
	assert.Equal(t, wire.Close, f.Take(start.Add(time.Hour)), "a closed socket stays closed")
}

func TestFrameLimiterSteadyRate(t *testing.T) {
	l, f := limiter(t, wire.FrameLimit{PerSecond: 10, Burst: 5})
	// At the rate, for a minute: all served.
	got := counts(f, 600, func(i int) time.Time { return start.Add(time.Duration(i) * 100 * time.Millisecond) })
	assert.Equal(t, map[wire.Verdict]int{wire.Serve: 600}, got)
	// After a pause the whole burst is there again.
	got = counts(f, l.Burst+1, func(int) time.Time { return start.Add(2 * time.Minute) })
	assert.Equal(t, map[wire.Verdict]int{wire.Serve: l.Burst, wire.Warn: 1}, got)
}

// TestFrameLimiterSlowsDownBelowTwiceTheRate: a client sending at 1.5 times
// the rate is served at the rate, warned once a second, and never closed.
func TestFrameLimiterSlowsDownBelowTwiceTheRate(t *testing.T) {
	_, f := limiter(t, wire.FrameLimit{PerSecond: 10, Burst: 5})
	step := time.Second / 15
	got := counts(f, 15*60, func(i int) time.Time { return start.Add(time.Duration(i) * step) })
	assert.Zero(t, got[wire.Close], "below twice the rate, the tolerance never runs out")
	assert.InDelta(t, 10*60+5, got[wire.Serve], 2, "served at the rate, plus the burst")
	assert.LessOrEqual(t, got[wire.Warn], 60, "warned at most once a second")
	assert.GreaterOrEqual(t, got[wire.Warn], 45, "and warned again while it goes on")
	assert.Positive(t, got[wire.Refuse])
}

// TestFrameLimiterClosesAboveTwiceTheRate: at three times the rate the
// tolerance drains by the rate each second.
func TestFrameLimiterClosesAboveTwiceTheRate(t *testing.T) {
	_, f := limiter(t, wire.FrameLimit{PerSecond: 10, Burst: 5, Overrun: 20})
	step := time.Second / 30
	closedAt := -1
	for i := range 30 * 10 {
		if f.Take(start.Add(time.Duration(i)*step)) == wire.Close {
			closedAt = i
			break
		}
	}
	require.NotEqual(t, -1, closedAt, "closed within ten seconds")
	// Burst 5 served at once, then per second 10 served and 20 refused while
	// the tolerance regains 10: 20 / 10 = about 2 s of flooding.
	assert.InDelta(t, 2*30, closedAt, 8)
}

func TestFrameLimiterWarnsOnceASecond(t *testing.T) {
	_, f := limiter(t, wire.FrameLimit{PerSecond: 1, Burst: 1, Overrun: 3})
	assert.Equal(t, wire.Serve, f.Take(start))
	assert.Equal(t, wire.Warn, f.Take(start))
	assert.Equal(t, wire.Refuse, f.Take(start.Add(100*time.Millisecond)))
	// A second later a token is back.
	assert.Equal(t, wire.Serve, f.Take(start.Add(1100*time.Millisecond)))
	assert.Equal(t, wire.Warn, f.Take(start.Add(1200*time.Millisecond)), "a second after the last warning, the next refusal warns again")
	assert.Equal(t, wire.Refuse, f.Take(start.Add(1300*time.Millisecond)))
}

func TestFrameLimiterTimeGoingBackwards(t *testing.T) {
	_, f := limiter(t, wire.FrameLimit{PerSecond: 1, Burst: 2, Overrun: 1})
	assert.Equal(t, wire.Serve, f.Take(start))
	assert.Equal(t, wire.Serve, f.Take(start.Add(-time.Hour)), "an earlier time refills nothing and breaks nothing")
	assert.Equal(t, wire.Warn, f.Take(start.Add(-time.Hour)))
	assert.Equal(t, wire.Close, f.Take(start))
}

func TestFrameLimiterOff(t *testing.T) {
	_, f := limiter(t, wire.FrameLimit{PerSecond: -1})
	got := counts(f, 10000, func(int) time.Time { return start })
	assert.Equal(t, map[wire.Verdict]int{wire.Serve: 10000}, got)
}

func TestRateLimitedEvent(t *testing.T) {
	ev := wire.RateLimitedEvent(wire.FrameLimit{PerSecond: 20, Burst: 50})
	assert.Equal(t, domain.EventError, ev.Name)
	p := ev.Data.(domain.ErrorPayload)
	assert.Equal(t, "rate_limited", p.Code)
	assert.Contains(t, p.Message, "20 a second")
	assert.Equal(t, 1008, wire.CloseRateLimited)
	assert.Equal(t, wire.CloseRateLimited, wire.CloseCode(domain.KindInvalid), "a policy violation, as bad input is")
}
