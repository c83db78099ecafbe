package measure

import (
	"math"
	"time"
)

// Schedule is an open-loop send schedule: message i (from 0) is due at
// Start + i/Rate, whatever happened to the messages before it. Latency is
// measured from that intended time, so a server that slows the sender down
// cannot hide the delay in a later start (coordinated omission).
type Schedule struct {
	Start time.Time
	Rate  float64 // messages per second, > 0
}

// At is the intended send time of message i.
func (s Schedule) At(i int64) time.Time {
	return s.Start.Add(time.Duration(math.Round(float64(i) * 1e9 / s.Rate)))
}

// Count is how many messages are due strictly before t: the number of i >= 0
// with At(i) < t. It agrees exactly with At, rounding included.
func (s Schedule) Count(t time.Time) int64 {
	d := t.Sub(s.Start)
	if d <= 0 {
		return 0
	}
	n := int64(math.Ceil(float64(d) * s.Rate / 1e9))
	// Float rounding may put n one off in either direction; settle it with At.
	for n > 0 && !s.At(n-1).Before(t) {
		n--
	}
	for s.At(n).Before(t) {
		n++
	}
	return n
}

// Window is the index range [First, End) of the messages due in [from, to).
func (s Schedule) Window(from, to time.Time) (first, end int64) {
	return s.Count(from), s.Count(to)
}
