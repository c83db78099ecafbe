package wire

import (
	"time"

	"github.com/messenger-go/messenger/domain"
)

// Defaults of FrameLimit.
const (
	DefaultFrameRate  = 20
	DefaultFrameBurst = 50
)

// FrameLimit is the budget of incoming frames of one socket: a token bucket
// of Burst frames refilled at PerSecond. A frame beyond the budget is refused
// (not served). Refusals draw on a second bucket, the tolerance, of Overrun
// frames refilled at the same rate: a client that goes on sending once it
// is spent is closed. So a client sending at up to twice PerSecond is slowed
// down and stays connected, and a flood is cut off after Burst+Overrun
// frames.
type FrameLimit struct {
	// PerSecond is the sustained rate of frames served. Default
	// DefaultFrameRate; negative: no limit.
	PerSecond float64
	// Burst is how many frames a socket may send at once after a pause.
	// Default DefaultFrameBurst.
	Burst int
	// Overrun is how many refused frames a socket may send, beyond what the
	// tolerance regains at PerSecond, before it is closed. Default Burst.
	Overrun int
}

// WithDefaults fills the zero fields of l and reports a negative Burst or
// Overrun. Errors: KindInvalid.
func (l FrameLimit) WithDefaults() (FrameLimit, error) {
	if l.Burst < 0 || l.Overrun < 0 {
		return l, domain.Errorf(domain.KindInvalid, "frame limit: Burst and Overrun must not be negative")
	}
	if l.PerSecond == 0 {
		l.PerSecond = DefaultFrameRate
	}
	if l.Burst == 0 {
		l.Burst = DefaultFrameBurst
	}
	if l.Overrun == 0 {
		l.Overrun = l.Burst
	}
	return l, nil
}

// Verdict is what a transport does with one incoming frame.
type Verdict int

const (
	// Serve the frame.
	Serve Verdict = iota
	// Refuse drops the frame unserved.
	Refuse
	// Warn drops the frame and tells the client with RateLimitedEvent; it
	// comes with a refusal when no warning went out in the last second, so
	// the warnings never outnumber the seconds of a flood.
	Warn
	// Close ends the socket with CloseRateLimited: the tolerance is spent.
	Close
)

// CloseRateLimited is the WebSocket close code of a socket that went on
// flooding after its warnings (1008, policy violation); clients should not
// reconnect at once.
const CloseRateLimited = 1008

// ReasonRateLimited is the reason sent with CloseRateLimited.
const ReasonRateLimited = "too many frames"

// warnEvery is how often a refusing socket is warned again.
const warnEvery = time.Second

// FrameLimiter applies a FrameLimit to one socket. It holds no clock: each
// call says when the frame arrived, so tests drive it with any times. Not
// safe for concurrent use; a socket's reader owns it.
type FrameLimiter struct {
	limit     FrameLimit
	off       bool
	tokens    float64 // frames the socket may still send now
	tolerance float64 // refused frames it may still send
	last      time.Time
	warned    time.Time // when the last warning went out; zero: never
}

// NewFrameLimiter returns a limiter with full buckets at now. l must have
// its defaults (FrameLimit.WithDefaults).
func NewFrameLimiter(l FrameLimit, now time.Time) *FrameLimiter {
	return &FrameLimiter{limit: l, off: l.PerSecond < 0, tokens: float64(l.Burst), tolerance: float64(l.Overrun), last: now}
}

// Take counts one frame arriving at now and says what to do with it. Once it
// has answered Close it answers Close again.
func (f *FrameLimiter) Take(now time.Time) Verdict {
	if f.off {
		return Serve
	}
	if f.tolerance < 0 {
		return Close
	}
	if elapsed := now.Sub(f.last); elapsed > 0 {
		gain := elapsed.Seconds() * f.limit.PerSecond
		f.tokens = min(float64(f.limit.Burst), f.tokens+gain)
		f.tolerance = min(float64(f.limit.Overrun), f.tolerance+gain)
		f.last = now
	}
	if f.tokens >= 1 {
		f.tokens--
		return Serve
	}
	if f.tolerance < 1 {
		f.tolerance = -1
		return Close
	}
	f.tolerance--
	if f.warned.IsZero() || now.Sub(f.warned) >= warnEvery {
		f.warned = now
		return Warn
	}
	return Refuse
}

// RateLimitedEvent is the error event that warns a client of refused frames.
func RateLimitedEvent(l FrameLimit) domain.Event {
	return ErrorEvent(domain.Errorf(domain.KindRateLimited,
		"too many frames: at most %g a second (bursts of %d); frames beyond are dropped, and a socket that goes on is closed", l.PerSecond, l.Burst))
}
