package measure

import (
	"math"
	"slices"
	"time"
)

// Percentile is the nearest-rank p-th percentile (0 < p <= 100) of sorted
// values: the smallest value such that at least p% of the values are <= it.
// It is 0 for no values.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}

// Summary describes a set of latencies.
type Summary struct {
	Count int
	Min   time.Duration
	Mean  time.Duration
	P50   time.Duration
	P95   time.Duration
	P99   time.Duration
	Max   time.Duration
}

// Summarize describes values; it sorts them in place.
func Summarize(values []time.Duration) Summary {
	if len(values) == 0 {
		return Summary{}
	}
	slices.Sort(values)
	var sum time.Duration
	for _, v := range values {
		sum += v
	}
	return Summary{
		Count: len(values),
		Min:   values[0],
		Mean:  sum / time.Duration(len(values)),
		P50:   Percentile(values, 50),
		P95:   Percentile(values, 95),
		P99:   Percentile(values, 99),
		Max:   values[len(values)-1],
	}
}

// Latencies keeps every sample, bucketed by the second (since Start) of the
// time it belongs to, so that both the whole run and each second can be
// summarized. Not safe for concurrent use; callers lock.
type Latencies struct {
	start   time.Time
	buckets [][]time.Duration
}

// NewLatencies returns an empty set whose second 0 begins at start.
func NewLatencies(start time.Time) *Latencies {
	return &Latencies{start: start}
}

// Add records latency d of an event that belongs at time at (for a send or a
// delivery: the message's intended send time). Samples before start are
// dropped.
func (l *Latencies) Add(at time.Time, d time.Duration) {
	off := at.Sub(l.start)
	if off < 0 {
		return
	}
	sec := int(off / time.Second)
	for len(l.buckets) <= sec {
		l.buckets = append(l.buckets, nil)
	}
	l.buckets[sec] = append(l.buckets[sec], d)
}

// Len is the number of samples recorded.
func (l *Latencies) Len() int {
	n := 0
	for _, b := range l.buckets {
		n += len(b)
	}
	return n
}

// Summary describes every sample.
func (l *Latencies) Summary() Summary {
	all := make([]time.Duration, 0, l.Len())
	for _, b := range l.buckets {
		all = append(all, b...)
	}
	return Summarize(all)
}

// SecondSummary summarizes second sec alone (zero when it has no samples).
func (l *Latencies) SecondSummary(sec int) Summary {
	if sec < 0 || sec >= len(l.buckets) {
		return Summary{}
	}
	return Summarize(slices.Clone(l.buckets[sec]))
}

// Second is one second of a Latencies series.
type Second struct {
	Second int // since start
	Summary
}

// Series summarizes each second from 0 to the last one with a sample; seconds
// without samples have Count 0.
func (l *Latencies) Series() []Second {
	out := make([]Second, len(l.buckets))
	for i, b := range l.buckets {
		c := slices.Clone(b)
		out[i] = Second{Second: i, Summary: Summarize(c)}
	}
	return out
}
