package redis

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
)

// DefaultUnreadTTL is the guide's lifetime of a cached unread count.
const DefaultUnreadTTL = 60 * time.Second

// DefaultUnreadHold is how long an invalidation holds Sets of the user back,
// twice ports.UnreadFillWindow.
const DefaultUnreadHold = 2 * ports.UnreadFillWindow

// UnreadCacheConfig configures an UnreadCache.
type UnreadCacheConfig struct {
	// TTL is how long cached counts live (default 60 s). Invalidation keeps
	// them right; the TTL bounds the damage of a lost invalidation.
	TTL time.Duration
	// Hold is how long Invalidate keeps Sets of the user from caching
	// (default DefaultUnreadHold; at least ports.UnreadFillWindow plus the
	// operation timeout).
	Hold time.Duration
}

// UnreadCache implements ports.UnreadCache with one JSON string per user,
// {prefix}unread_count:{userId}. Invalidate writes a marker there for the
// hold instead of deleting the key, and Set replaces a value only when no
// marker is there (one script), so counts read before a change are never
// cached after the change's invalidation.
type UnreadCache struct {
	c    *Client
	ttl  time.Duration
	hold time.Duration
}

// unreadInvalidated is the marker an invalidation leaves; it is not JSON, so
// it never decodes as counts.
const unreadInvalidated = "-"

// setUnlessInvalidated sets KEYS[1] to ARGV[1] for ARGV[2] ms unless it holds
// the marker ARGV[3].
var setUnlessInvalidated = goredis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[3] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1`)

var _ ports.UnreadCache = (*UnreadCache)(nil)

// NewUnreadCache returns an UnreadCache on c.
func NewUnreadCache(c *Client, cfg UnreadCacheConfig) (*UnreadCache, error) {
	if c == nil {
		return nil, domain.Errorf(domain.KindInvalid, "redis unread cache: nil client")
	}
	cfg.TTL = cmp.Or(cfg.TTL, DefaultUnreadTTL)
	cfg.Hold = cmp.Or(cfg.Hold, DefaultUnreadHold)
	if cfg.TTL < time.Millisecond {
		return nil, domain.Errorf(domain.KindInvalid, "redis unread cache: TTL must be at least 1 ms")
	}
	if cfg.Hold < ports.UnreadFillWindow+c.timeout {
		return nil, domain.Errorf(domain.KindInvalid, "redis unread cache: Hold must be at least %s (the fill window and the operation timeout)", ports.UnreadFillWindow+c.timeout)
	}
	return &UnreadCache{c: c, ttl: cfg.TTL, hold: cfg.Hold}, nil
}

// Get returns the cached counts of user and true, or false on a miss. A value
// that does not decode counts as a miss (and is logged).
// Errors: KindUnavailable.
func (u *UnreadCache) Get(ctx context.Context, user domain.UserID) (domain.UnreadCounts, bool, error) {
	ctx, cancel := u.c.bound(ctx)
	defer cancel()
	raw, err := u.c.rdb.Get(ctx, u.c.key("unread_count", string(user))).Bytes()
	if errors.Is(err, goredis.Nil) {
		return domain.UnreadCounts{}, false, nil
	}
	if err != nil {
		return domain.UnreadCounts{}, false, translate(err)
	}
	if string(raw) == unreadInvalidated {
		return domain.UnreadCounts{}, false, nil
	}
	var counts domain.UnreadCounts
	if err := json.Unmarshal(raw, &counts); err != nil {
		u.c.log.Warn("redis unread cache: undecodable value, treated as a miss", "user", user, "err", err)
		return domain.UnreadCounts{}, false, nil
	}
	return counts, true, nil
}

// Set caches counts for the TTL, replacing what was there, unless an
// invalidation's marker is there. Errors: KindUnavailable.
func (u *UnreadCache) Set(ctx context.Context, user domain.UserID, counts domain.UnreadCounts) error {
	raw, err := json.Marshal(counts)
	if err != nil {
		return domain.Wrap(domain.KindInternal, err, "")
	}
	ctx, cancel := u.c.bound(ctx)
	defer cancel()
	key := u.c.key("unread_count", string(user))
	return translate(setUnlessInvalidated.Run(ctx, u.c.rdb, []string{key}, raw, u.ttl.Milliseconds(), unreadInvalidated).Err())
}

// Invalidate replaces the cached counts of users with the marker for the
// hold, in one pipeline. Errors: KindUnavailable.
func (u *UnreadCache) Invalidate(ctx context.Context, users ...domain.UserID) error {
	if len(users) == 0 {
		return nil
	}
	ctx, cancel := u.c.bound(ctx)
	defer cancel()
	_, err := u.c.rdb.Pipelined(ctx, func(pipe goredis.Pipeliner) error {
		for _, user := range users {
			pipe.Set(ctx, u.c.key("unread_count", string(user)), unreadInvalidated, u.hold)
		}
		return nil
	})
	return translate(err)
}
