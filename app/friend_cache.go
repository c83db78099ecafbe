package app

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
)

// DefaultFriendshipCacheTTL is the default of Config.FriendshipCacheTTL.
const DefaultFriendshipCacheTTL = time.Second

// friendshipCacheMax bounds the entries of a friendshipCache; past it the
// expired ones are dropped, and all of them if none has expired.
const friendshipCacheMax = 100_000

// cachedFriends is the FriendStore the App uses: the configured one, with the
// pairs allowed to message each other remembered for a short time, so that a
// send does not read the friendship on every message. Only "may message"
// answers are kept; a refusal is read again each time. Every friendship change
// made through this App drops every entry, so on this node a block or an
// unfriending takes effect at once; one made on another node takes up to the
// TTL to stop sends accepted here.
type cachedFriends struct {
	ports.FriendStore
	ttl time.Duration // <= 0: nothing is cached

	// gen counts friendship changes made through this store; an entry is valid
	// only under the generation current when its read started.
	gen atomic.Uint64

	mu      sync.Mutex
	entries map[friendPair]friendEntry
}

// friendPair is an unordered pair of users, the lower id first.
type friendPair struct{ lo, hi domain.UserID }

func pairOf(a, b domain.UserID) friendPair {
	if b < a {
		a, b = b, a
	}
	return friendPair{a, b}
}

type friendEntry struct {
	gen     uint64
	expires time.Time // monotonic: a test clock does not keep entries alive
}

func newCachedFriends(store ports.FriendStore, ttl time.Duration) *cachedFriends {
	return &cachedFriends{FriendStore: store, ttl: ttl, entries: make(map[friendPair]friendEntry)}
}

// UpdateFriendship updates the pair in the store, then invalidates the cache.
// The invalidation comes after the store returned, so an answer read while the
// update was in flight is never trusted afterwards.
func (c *cachedFriends) UpdateFriendship(ctx context.Context, a, b domain.UserID, fn func(domain.Friendship) (domain.Friendship, error)) (domain.Friendship, error) {
	defer c.gen.Add(1)
	return c.FriendStore.UpdateFriendship(ctx, a, b, fn)
}

// canMessage returns nil when a may message b (domain.Friendship.CanMessage),
// from the cache when a recent answer said so.
func (c *cachedFriends) canMessage(ctx context.Context, a, b domain.UserID) error {
	if c.ttl <= 0 {
		return c.read(ctx, a, b)
	}
	pair := pairOf(a, b)
	gen := c.gen.Load()
	now := time.Now()
	c.mu.Lock()
	e, ok := c.entries[pair]
	c.mu.Unlock()
	if ok && e.gen == gen && now.Before(e.expires) {
		return nil
	}
	if err := c.read(ctx, a, b); err != nil {
		return err
	}
	c.mu.Lock()
	if len(c.entries) >= friendshipCacheMax {
		c.sweep(now)
	}
	c.entries[pair] = friendEntry{gen: gen, expires: now.Add(c.ttl)}
	c.mu.Unlock()
	return nil
}

func (c *cachedFriends) read(ctx context.Context, a, b domain.UserID) error {
	f, err := c.FriendStore.Friendship(ctx, a, b)
	if err != nil {
		return err
	}
	return f.CanMessage()
}

// sweep drops the expired or outdated entries, or all of them when none is.
// c.mu must be held.
func (c *cachedFriends) sweep(now time.Time) {
	gen := c.gen.Load()
	for p, e := range c.entries {
		if e.gen != gen || !now.Before(e.expires) {
			delete(c.entries, p)
		}
	}
	if len(c.entries) >= friendshipCacheMax {
		clear(c.entries)
	}
}
