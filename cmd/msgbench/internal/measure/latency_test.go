package measure_test

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/cmd/msgbench/internal/measure"
)

func ms(n float64) time.Duration { return time.Duration(n * float64(time.Millisecond)) }

func TestPercentile(t *testing.T) {
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = ms(float64(i + 1))
	}
	tests := []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"empty", nil, 50, 0},
		{"single value is every percentile", []time.Duration{ms(7)}, 99, ms(7)},
		{"p50 of 1..100", hundred, 50, ms(50)},
		{"p95 of 1..100", hundred, 95, ms(95)},
		{"p99 of 1..100", hundred, 99, ms(99)},
		{"p100 is the max", hundred, 100, ms(100)},
		{"tiny p is the min", hundred, 0.001, ms(1)},
		{"p50 of two is the lower (nearest rank)", []time.Duration{ms(1), ms(2)}, 50, ms(1)},
		{"p51 of two is the upper", []time.Duration{ms(1), ms(2)}, 51, ms(2)},
		{"p99 of ten is the max", []time.Duration{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 99, 10},
		{"p90 of ten", []time.Duration{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 90, 9},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, measure.Percentile(tc.sorted, tc.p))
		})
	}
}

func TestSummarize(t *testing.T) {
	vals := make([]time.Duration, 1000)
	for i := range vals {
		vals[i] = ms(float64(i + 1))
	}
	rand.Shuffle(len(vals), func(i, j int) { vals[i], vals[j] = vals[j], vals[i] })
	s := measure.Summarize(vals)
	assert.Equal(t, measure.Summary{
		Count: 1000, Min: ms(1), Mean: ms(500.5), P50: ms(500), P95: ms(950), P99: ms(990), Max: ms(1000),
	}, s)
	assert.True(t, slices.IsSorted(vals), "Summarize sorts in place")
	assert.Equal(t, measure.Summary{}, measure.Summarize(nil))
}

func TestLatenciesBucketsBySecondOfIntendedTime(t *testing.T) {
	start := time.Unix(1_700_000_000, 0)
	l := measure.NewLatencies(start)
	l.Add(start.Add(-time.Millisecond), ms(1000)) // before start: dropped
	l.Add(start, ms(1))
	l.Add(start.Add(999*time.Millisecond), ms(3))
	l.Add(start.Add(time.Second), ms(10))
	l.Add(start.Add(3500*time.Millisecond), ms(20))
	l.Add(start.Add(3600*time.Millisecond), ms(40))

	require.Equal(t, 5, l.Len())
	s := l.Summary()
	assert.Equal(t, 5, s.Count)
	assert.Equal(t, ms(40), s.Max)
	assert.Equal(t, ms(10), s.P50)

	series := l.Series()
	require.Len(t, series, 4)
	assert.Equal(t, []int{2, 1, 0, 2}, []int{series[0].Count, series[1].Count, series[2].Count, series[3].Count})
	assert.Equal(t, ms(1), series[0].P50)
	assert.Equal(t, ms(3), series[0].P99)
	assert.Equal(t, 2, series[2].Second)
	assert.Equal(t, time.Duration(0), series[2].P99, "an empty second has zero percentiles")
	assert.Equal(t, ms(40), series[3].Max)
	// Series must not reorder the recorded samples behind the caller's back
	// in a way that changes the totals.
	assert.Equal(t, s, l.Summary())
}

func TestLatenciesSecondSummary(t *testing.T) {
	start := time.Unix(1_700_000_000, 0)
	l := measure.NewLatencies(start)
	l.Add(start.Add(1500*time.Millisecond), ms(5))
	l.Add(start.Add(1600*time.Millisecond), ms(1))
	assert.Equal(t, 2, l.SecondSummary(1).Count)
	assert.Equal(t, ms(1), l.SecondSummary(1).P50)
	assert.Equal(t, measure.Summary{}, l.SecondSummary(0))
	assert.Equal(t, measure.Summary{}, l.SecondSummary(7))
	assert.Equal(t, measure.Summary{}, l.SecondSummary(-1))
}
