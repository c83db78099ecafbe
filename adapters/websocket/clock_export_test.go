package websocket

import (
	"sync"
	"time"
)

// ManualClock replaces a Handler's clock for a test: the clock no longer
// runs on its own but only when the test advances it, and every time the
// handler reads (when a frame arrived, when a write started, when a socket
// opened) is the clock's.
type ManualClock struct {
	step func(time.Time)
	mu   sync.Mutex
	now  time.Time
}

// NewManualClock gives h a manual clock at start. Call it before the first
// socket opens.
func NewManualClock(h *Handler, start time.Time) *ManualClock {
	m := &ManualClock{now: start}
	m.step = h.ep.SetManualClock(m.Now)
	return m
}

// Now is the clock's time.
func (m *ManualClock) Now() time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.now
}

// Advance moves the time on by d and runs one tick at the new time; what the
// tick closes is asked to close when Advance returns.
func (m *ManualClock) Advance(d time.Duration) {
	m.mu.Lock()
	m.now = m.now.Add(d)
	now := m.now
	m.mu.Unlock()
	m.step(now)
}
