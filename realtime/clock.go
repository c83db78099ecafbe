package realtime

import (
	"math/rand/v2"
	"sync"
	"time"
)

// clock paces an endpoint's sockets from one goroutine: it asks each writer for
// a ping every PingInterval, closes a socket whose access token expired, and
// drops one whose frame write has taken longer than WriteTimeout or from
// which nothing (no frame, no pong) has come for ReadTimeout. The
// alternative, a ticker and a timer per socket and a timeout context per
// frame, filled the runtime's timer heaps, which are scanned whole whenever a
// modified timer comes due, a cost that grows with the sockets. The clock
// runs while the endpoint has sockets.
type clock struct {
	tick time.Duration
	now  func() time.Time // the time the paced deadlines are read against; tests replace it
	// epoch is what stamps count from; see stamp.
	epoch time.Time
	// manual clocks run only when a test calls step, at the times it gives.
	manual bool

	mu      sync.Mutex
	sockets map[*Socket]time.Time // socket -> when its next ping is due
	running bool
}

func newClock(cfg *Config) *clock {
	// The tick bounds how late a ping, an expiry or a timeout is acted on; a
	// quarter of the shortest interval, and a second at most.
	tick := min(cfg.PingInterval, cfg.WriteTimeout, 4*time.Second) / 4
	return &clock{tick: max(tick, time.Millisecond), now: time.Now, epoch: time.Now(), sockets: make(map[*Socket]time.Time)}
}

// stamp is t as the nanoseconds since the clock's epoch, at least 1 (0 is
// "none" where a stamp is kept). Stamps of the wall clock are monotonic: a
// step of the system's time (NTP) moves no deadline.
func (c *clock) stamp(t time.Time) int64 { return max(int64(t.Sub(c.epoch)), 1) }

// stampNow is the stamp of now.
func (c *clock) stampNow() int64 { return c.stamp(c.now()) }

// add starts pacing s. Its first ping is due at a random point between half
// an interval and one and a half, so that sockets opened together (a node's
// restart, a reconnect wave) do not ping together every interval after: with
// 10,000 sockets opened within seconds, those pings came as one burst every
// 25 s, and each burst showed as a latency spike.
func (c *clock) add(s *Socket, interval time.Duration) {
	first := interval/2 + rand.N(interval)
	now := c.now()
	s.heard.Store(c.stamp(now))
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sockets[s] = now.Add(first)
	if !c.running && !c.manual {
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
	for range t.C {
		if !c.step(c.now()) {
			return
		}
	}
}

// step does one tick's work at now. It reports false, and the clock stops
// running, when it has no socket left.
func (c *clock) step(now time.Time) bool {
	var expired, stuck, silent, ping []*Socket
	stamp := c.stamp(now)
	c.mu.Lock()
	if len(c.sockets) == 0 {
		c.running = false
		c.mu.Unlock()
		return false
	}
	for s, due := range c.sockets {
		cfg := &s.ep.cfg
		if s.expires != 0 && now.UnixNano() >= s.expires {
			expired = append(expired, s)
		}
		if since := s.writing.Load(); since != 0 && stamp-since > int64(cfg.WriteTimeout) {
			stuck = append(stuck, s)
		}
		if stamp-s.heard.Load() > int64(cfg.ReadTimeout) {
			silent = append(silent, s)
		}
		if !now.Before(due) {
			c.sockets[s] = now.Add(cfg.PingInterval)
			ping = append(ping, s)
		}
	}
	c.mu.Unlock()
	for _, s := range ping {
		s.askPing()
	}
	for _, s := range expired {
		s.Close(CloseExpired)
	}
	for _, s := range stuck {
		s.drop("write timed out", s.ep.cfg.WriteTimeout)
	}
	for _, s := range silent {
		s.drop("nothing read", s.ep.cfg.ReadTimeout)
	}
	return true
}

// drop cuts the connection of s without a close handshake, which a peer that
// takes or sends nothing would not complete.
func (s *Socket) drop(why string, after time.Duration) {
	if s.Close(CloseNow) {
		s.ep.log.Debug(s.ep.cfg.Name+": "+why+", dropping connection", "user", s.user, "timeout", after)
	}
	s.Abort()
}
