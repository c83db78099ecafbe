package realtime

import (
	"math/rand/v2"
	"sync"
	"time"
)

// clock paces an endpoint's sockets from one goroutine: it asks each writer for
// a ping every PingInterval, closes a socket whose access token expired, and
// drops one whose frame write has taken longer than WriteTimeout. The
// alternative, a ticker and a timer per socket and a timeout context per
// frame, filled the runtime's timer heaps, which are scanned whole whenever a
// modified timer comes due, a cost that grows with the sockets. The clock
// runs while the endpoint has sockets.
type clock struct {
	tick time.Duration
	now  func() time.Time // the time the paced deadlines are read against; tests replace it

	mu      sync.Mutex
	sockets map[*Socket]time.Time // socket -> when its next ping is due
	running bool
}

func newClock(cfg *Config) *clock {
	// The tick bounds how late a ping, an expiry or a write timeout is acted
	// on; a quarter of the shortest interval, and a second at most.
	tick := min(cfg.PingInterval, cfg.WriteTimeout, 4*time.Second) / 4
	return &clock{tick: max(tick, time.Millisecond), now: time.Now, sockets: make(map[*Socket]time.Time)}
}

// add starts pacing s. Its first ping is due at a random point between half
// an interval and one and a half, so that sockets opened together (a node's
// restart, a reconnect wave) do not ping together every interval after: with
// 10,000 sockets opened within seconds, those pings came as one burst every
// 25 s, and each burst showed as a latency spike.
func (c *clock) add(s *Socket, interval time.Duration) {
	first := interval/2 + rand.N(interval)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sockets[s] = c.now().Add(first)
	if !c.running {
		c.running = true
		go c.run()
	}
}

// remove stops pacing s.
func (c *clock) remove(s *Socket) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.sockets, s)
}

func (c *clock) run() {
	t := time.NewTicker(c.tick)
	defer t.Stop()
	var expired, stuck []*Socket
	for range t.C {
		now := c.now()
		expired, stuck = expired[:0], stuck[:0]
		c.mu.Lock()
		if len(c.sockets) == 0 {
			c.running = false
			c.mu.Unlock()
			return
		}
		for s, due := range c.sockets {
			cfg := &s.ep.cfg
			if s.expires != 0 && now.UnixNano() >= s.expires {
				expired = append(expired, s)
			}
			if since := s.writing.Load(); since != 0 && now.UnixNano()-since > int64(cfg.WriteTimeout) {
				stuck = append(stuck, s)
			}
			if !now.Before(due) {
				c.sockets[s] = now.Add(cfg.PingInterval)
				select {
				case s.pingDue <- struct{}{}:
				default: // the last one is not taken yet
				}
			}
		}
		c.mu.Unlock()
		for _, s := range expired {
			s.Close(CloseExpired)
		}
		for _, s := range stuck {
			if s.Close(CloseNow) {
				s.ep.log.Debug(s.ep.cfg.Name+": write timed out, dropping connection", "user", s.user,
					"timeout", s.ep.cfg.WriteTimeout)
			}
			s.Abort()
		}
		clear(expired)
		clear(stuck)
	}
}
