package realtime

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestClockRunsOnlyWhileItHasSockets(t *testing.T) {
	ep := &Endpoint{cfg: Config{Timing: Timing{PingInterval: 20 * time.Millisecond, WriteTimeout: time.Second, ReadTimeout: time.Hour}}}
	c := newClock(&ep.cfg)
	s := &Socket{ep: ep} // not started: no writer takes the requests
	running := func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.running
	}
	for range 2 { // it starts again after it stopped
		c.add(s, 10*time.Millisecond)
		for range 3 {
			require.Eventually(t, func() bool { return s.pingDue.Swap(false) }, 5*time.Second, time.Millisecond, "no ping was asked for")
		}
		c.remove(s)
		assert.Eventually(t, func() bool { return !running() }, 5*time.Second, time.Millisecond)
	}
}
