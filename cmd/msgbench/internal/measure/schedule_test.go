package measure_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/cmd/msgbench/internal/measure"
)

func TestScheduleAt(t *testing.T) {
	start := time.Unix(1_700_000_000, 0)
	tests := []struct {
		name string
		rate float64
		i    int64
		want time.Duration
	}{
		{"first message at start", 1000, 0, 0},
		{"1000/s spaces by a millisecond", 1000, 1, time.Millisecond},
		{"5000/s after one second", 5000, 5000, time.Second},
		{"3/s rounds to the nanosecond", 3, 1, 333_333_333 * time.Nanosecond},
		{"fractional rate", 0.5, 3, 6 * time.Second},
		{"an hour at 10000/s does not drift", 10000, 36_000_000, time.Hour},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := measure.Schedule{Start: start, Rate: tc.rate}
			assert.Equal(t, tc.want, s.At(tc.i).Sub(start))
		})
	}
}

func TestScheduleCount(t *testing.T) {
	start := time.Unix(1_700_000_000, 0)
	tests := []struct {
		name string
		rate float64
		at   time.Duration
		want int64
	}{
		{"before start", 1000, -time.Second, 0},
		{"at start nothing is strictly before", 1000, 0, 0},
		{"just after start the first is due", 1000, time.Nanosecond, 1},
		{"the second is due strictly after 1 ms", 1000, time.Millisecond, 1},
		{"1 ms and 1 ns", 1000, time.Millisecond + time.Nanosecond, 2},
		{"one second at 2000/s", 2000, time.Second, 2000},
		{"ten seconds at 3/s", 3, 10 * time.Second, 30},
		{"ten seconds and a bit at 3/s", 3, 10*time.Second + time.Nanosecond, 31},
		{"sixty seconds at 7777/s", 7777, 60 * time.Second, 7777 * 60},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := measure.Schedule{Start: start, Rate: tc.rate}
			assert.Equal(t, tc.want, s.Count(start.Add(tc.at)))
		})
	}
}

// Count agrees with At at every boundary: exactly the messages whose intended
// time is strictly before t are counted.
func TestScheduleCountAgreesWithAt(t *testing.T) {
	for _, rate := range []float64{1, 3, 7, 999.5, 1000, 2000, 4999, 5000, 12345} {
		s := measure.Schedule{Start: time.Unix(0, 12345), Rate: rate}
		for i := int64(0); i < 3000; i += 7 {
			at := s.At(i)
			require.Equal(t, i, s.Count(at), "rate %v: Count(At(%d))", rate, i)
			require.Equal(t, i+1, s.Count(at.Add(time.Nanosecond)), "rate %v: Count(At(%d)+1ns)", rate, i)
		}
	}
}

func TestScheduleWindow(t *testing.T) {
	start := time.Unix(1_700_000_000, 0)
	s := measure.Schedule{Start: start, Rate: 500}
	first, end := s.Window(start.Add(2*time.Second), start.Add(12*time.Second))
	assert.Equal(t, int64(1000), first, "warm-up of 2 s holds 1000 messages")
	assert.Equal(t, int64(5000), end-first, "10 s at 500/s")
	assert.Equal(t, start.Add(2*time.Second), s.At(first))
}
