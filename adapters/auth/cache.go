package auth

import (
	"crypto/sha256"
	"sync"
	"time"

	"github.com/messenger-go/messenger/domain"
)

// verifiedCache remembers tokens that passed verification, keyed by their
// SHA-256 (so token text is not kept in memory), until their expiry plus
// leeway. A token is only ever added after a full verification, and the exact
// same bytes were signed, so a hit is as good as verifying again, as long as
// the deadline is honoured.
//
// When full, expired entries are swept and, if that was not enough, arbitrary
// entries (Go's map iteration order) are evicted down to 7/8 of the bound, so
// the sweep is paid once per max/8 insertions and the read path needs no LRU
// bookkeeping.
type verifiedCache struct {
	mu      sync.RWMutex
	max     int
	entries map[[sha256.Size]byte]verifiedToken
}

type verifiedToken struct {
	user     domain.UserID
	issued   time.Time // the iat claim; zero when the token has none
	deadline time.Time // exclusive: valid while now is before it
}

func newVerifiedCache(max int) *verifiedCache {
	return &verifiedCache{max: max, entries: make(map[[sha256.Size]byte]verifiedToken, min(max, 1024))}
}

func (c *verifiedCache) get(token string, now time.Time) (verifiedToken, bool) {
	sum := sha256.Sum256([]byte(token))
	c.mu.RLock()
	e, ok := c.entries[sum]
	c.mu.RUnlock()
	if !ok {
		return verifiedToken{}, false
	}
	if !now.Before(e.deadline) {
		c.mu.Lock()
		delete(c.entries, sum)
		c.mu.Unlock()
		return verifiedToken{}, false
	}
	return e, true
}

func (c *verifiedCache) put(token string, e verifiedToken, now time.Time) {
	sum := sha256.Sum256([]byte(token))
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[sum]; !ok && len(c.entries) >= c.max {
		c.shrink(now)
	}
	c.entries[sum] = e
}

// shrink makes room; c.mu must be held.
func (c *verifiedCache) shrink(now time.Time) {
	for k, e := range c.entries {
		if !now.Before(e.deadline) {
			delete(c.entries, k)
		}
	}
	target := c.max - max(c.max/8, 1)
	for k := range c.entries {
		if len(c.entries) <= target {
			break
		}
		delete(c.entries, k)
	}
}

func (c *verifiedCache) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.entries)
}
