package app

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
)

// Defaults of Config.FriendshipCacheTTL: without Config.FriendshipChanges a
// change made on another node is seen only when the entry expires, so the
// cache is short; with it, changes arrive at once and the TTL only bounds a
// missed announcement.
const (
	DefaultFriendshipCacheTTL        = time.Second
	DefaultFriendshipCacheTTLWatched = 30 * time.Second
)

// friendshipCacheMax bounds the entries of a cachedFriends, and the pairs it
// remembers as changed; past it the expired entries are dropped, and
// everything if none has expired.
const friendshipCacheMax = 100_000

// cachedFriends is the FriendStore the App uses: the configured one, with the
// pairs allowed to message each other remembered for a while, so that a send
// does not read the friendship on every message. Only "may message" answers
// are kept; a refusal is read again each time. A friendship change made
// through this App drops the pair's entry, and is announced to the other
// nodes when FriendshipChanges is set; their announcements drop entries here.
// Without announcements a change made on another node takes up to the TTL to
// stop sends accepted here.
type cachedFriends struct {
	ports.FriendStore
	ttl     time.Duration // <= 0: nothing is cached
	changes ports.FriendshipChanges
	log     *slog.Logger

	mu sync.Mutex
	// seq counts invalidations. An answer is stored only if its read started
	// after the last invalidation of its pair (changed) and of everything
	// (reset), so a read that raced with a change is never trusted.
	seq     uint64
	reset   uint64
	changed map[friendPair]uint64
	entries map[friendPair]time.Time // monotonic expiry: a test clock does not keep entries alive
}

// friendPair is an unordered pair of users, the lower id first.
type friendPair struct{ lo, hi domain.UserID }

func pairOf(a, b domain.UserID) friendPair {
	if b < a {
		a, b = b, a
	}
	return friendPair{a, b}
}

func newCachedFriends(store ports.FriendStore, ttl time.Duration, changes ports.FriendshipChanges, log *slog.Logger) *cachedFriends {
	c := &cachedFriends{
		FriendStore: store, ttl: ttl, changes: changes, log: log,
		changed: make(map[friendPair]uint64),
		entries: make(map[friendPair]time.Time),
	}
	if changes != nil {
		changes.WatchFriendshipChanges(func(a, b domain.UserID) { c.invalidate(pairOf(a, b)) }, c.invalidateAll)
	}
	return c
}

// UpdateFriendship updates the pair in the store, then drops the pair's entry
// and announces the change. The invalidation comes after the store returned,
// so an answer read while the update was in flight is never trusted
// afterwards. A failed announcement is logged: the change is made, and the
// other nodes see it within their TTL.
func (c *cachedFriends) UpdateFriendship(ctx context.Context, a, b domain.UserID, fn func(domain.Friendship) (domain.Friendship, error)) (domain.Friendship, error) {
	f, err := c.FriendStore.UpdateFriendship(ctx, a, b, fn)
	c.changedPair(ctx, a, b)
	return f, err
}

// changedPair drops the pair's entry and announces that its friendship changed,
// for a change the store made (UpdateFriendship, or an account deleted).
func (c *cachedFriends) changedPair(ctx context.Context, a, b domain.UserID) {
	c.invalidate(pairOf(a, b))
	if c.changes != nil {
		if aerr := c.changes.AnnounceFriendshipChange(context.WithoutCancel(ctx), a, b); aerr != nil {
			c.log.Warn("friendship change not announced; other nodes see it within their cache TTL",
				"ttl", c.ttl, "err", aerr)
		}
	}
}

// canMessage returns nil when a may message b (domain.Friendship.CanMessage),
// from the cache when a recent answer said so.
func (c *cachedFriends) canMessage(ctx context.Context, a, b domain.UserID) error {
	if c.ttl <= 0 {
		return c.read(ctx, a, b)
	}
	pair := pairOf(a, b)
	now := time.Now()
	c.mu.Lock()
	expires, ok := c.entries[pair]
	start := c.seq
	c.mu.Unlock()
	if ok && now.Before(expires) {
		return nil
	}
	if err := c.read(ctx, a, b); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if start < c.reset || start < c.changed[pair] {
		return nil // changed while it was read: not trusted for later
	}
	if len(c.entries) >= friendshipCacheMax {
		c.sweep(now)
	}
	c.entries[pair] = now.Add(c.ttl)
	return nil
}

func (c *cachedFriends) read(ctx context.Context, a, b domain.UserID) error {
	f, err := c.FriendStore.Friendship(ctx, a, b)
	if err != nil {
		return err
	}
	return f.CanMessage()
}

// invalidate drops the pair's entry, and any answer being read for it.
func (c *cachedFriends) invalidate(pair friendPair) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.changed) >= friendshipCacheMax {
		c.dropAll()
		return
	}
	c.seq++
	c.changed[pair] = c.seq
	delete(c.entries, pair)
}

// invalidateAll drops every entry and every answer being read.
func (c *cachedFriends) invalidateAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.dropAll()
}

// dropAll forgets everything. c.mu must be held.
func (c *cachedFriends) dropAll() {
	c.seq++
	c.reset = c.seq
	clear(c.changed)
	clear(c.entries)
}

// sweep drops the expired entries, or all of them when none is. c.mu must be
// held.
func (c *cachedFriends) sweep(now time.Time) {
	for p, expires := range c.entries {
		if !now.Before(expires) {
			delete(c.entries, p)
		}
	}
	if len(c.entries) >= friendshipCacheMax {
		clear(c.entries)
	}
}
