package memory

import (
	"context"
	"maps"
	"sync"
	"time"

	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
)

// UnreadCacheConfig configures an UnreadCache. Zero fields take their defaults.
type UnreadCacheConfig struct {
	// TTL is how long cached counts are served. Default 60 seconds, the
	// architecture guide's unread_count TTL.
	TTL time.Duration
	// Hold is how long Invalidate keeps Sets of the user from caching.
	// Default twice ports.UnreadFillWindow.
	Hold time.Duration
	// Clock tells the time. Default ports.SystemClock.
	Clock ports.Clock
}

// UnreadCache caches unread counts in memory for a TTL. An invalidation
// leaves a marker for the hold, during which Sets of the user do nothing. It
// implements ports.UnreadCache.
type UnreadCache struct {
	ttl   time.Duration
	hold  time.Duration
	clock ports.Clock

	mu      sync.Mutex
	entries map[domain.UserID]unreadEntry
	sets    int // since the last sweep
}

type unreadEntry struct {
	counts      domain.UnreadCounts
	expires     time.Time
	invalidated bool // a marker: no counts, Sets ignored until expires
}

var _ ports.UnreadCache = (*UnreadCache)(nil)

// NewUnreadCache returns an empty cache.
func NewUnreadCache(cfg UnreadCacheConfig) *UnreadCache {
	if cfg.TTL <= 0 {
		cfg.TTL = time.Minute
	}
	if cfg.Hold <= 0 {
		cfg.Hold = 2 * ports.UnreadFillWindow
	}
	if cfg.Clock == nil {
		cfg.Clock = ports.SystemClock{}
	}
	return &UnreadCache{ttl: cfg.TTL, hold: cfg.Hold, clock: cfg.Clock, entries: map[domain.UserID]unreadEntry{}}
}

// Get returns a copy of the cached counts of user, or false on a miss.
func (c *UnreadCache) Get(ctx context.Context, user domain.UserID) (domain.UnreadCounts, bool, error) {
	if err := live(ctx); err != nil {
		return domain.UnreadCounts{}, false, err
	}
	now := c.clock.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[user]
	if !ok {
		return domain.UnreadCounts{}, false, nil
	}
	if !now.Before(e.expires) {
		delete(c.entries, user)
		return domain.UnreadCounts{}, false, nil
	}
	if e.invalidated {
		return domain.UnreadCounts{}, false, nil
	}
	return copyCounts(e.counts), true, nil
}

// Set caches a copy of counts for the TTL, unless the user's invalidation
// marker is still there.
func (c *UnreadCache) Set(ctx context.Context, user domain.UserID, counts domain.UnreadCounts) error {
	if err := live(ctx); err != nil {
		return err
	}
	now := c.clock.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sets++; c.sets >= sweepEvery {
		c.sets = 0
		for u, e := range c.entries {
			if !now.Before(e.expires) {
				delete(c.entries, u)
			}
		}
	}
	if e, ok := c.entries[user]; ok && e.invalidated && now.Before(e.expires) {
		return nil
	}
	c.entries[user] = unreadEntry{counts: copyCounts(counts), expires: now.Add(c.ttl)}
	return nil
}

// Invalidate replaces the cached counts of users with a marker for the hold.
func (c *UnreadCache) Invalidate(ctx context.Context, users ...domain.UserID) error {
	if err := live(ctx); err != nil {
		return err
	}
	until := c.clock.Now().Add(c.hold)
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, u := range users {
		c.entries[u] = unreadEntry{invalidated: true, expires: until}
	}
	return nil
}

func copyCounts(c domain.UnreadCounts) domain.UnreadCounts {
	c.ByConversation = maps.Clone(c.ByConversation)
	if c.ByConversation == nil {
		c.ByConversation = map[domain.ConversationID]int64{}
	}
	return c
}
