package redis

import (
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

// UnreadCacheConfig configures an UnreadCache.
type UnreadCacheConfig struct {
	// TTL is how long cached counts live (default 60 s). Invalidation keeps
	// them right; the TTL bounds the damage of a lost invalidation.
	TTL time.Duration
}

// UnreadCache implements ports.UnreadCache with one JSON string per user,
// {prefix}unread_count:{userId}.
type UnreadCache struct {
	c   *Client
	ttl time.Duration
}

var _ ports.UnreadCache = (*UnreadCache)(nil)

// NewUnreadCache returns an UnreadCache on c.
func NewUnreadCache(c *Client, cfg UnreadCacheConfig) (*UnreadCache, error) {
	if c == nil {
		return nil, domain.Errorf(domain.KindInvalid, "redis unread cache: nil client")
	}
	if cfg.TTL == 0 {
		cfg.TTL = DefaultUnreadTTL
	}
	if cfg.TTL < time.Millisecond {
		return nil, domain.Errorf(domain.KindInvalid, "redis unread cache: TTL must be at least 1 ms")
	}
	return &UnreadCache{c: c, ttl: cfg.TTL}, nil
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
	var counts domain.UnreadCounts
	if err := json.Unmarshal(raw, &counts); err != nil {
		u.c.log.Warn("redis unread cache: undecodable value, treated as a miss", "user", user, "err", err)
		return domain.UnreadCounts{}, false, nil
	}
	return counts, true, nil
}

// Set caches counts for the TTL, replacing what was there.
// Errors: KindUnavailable.
func (u *UnreadCache) Set(ctx context.Context, user domain.UserID, counts domain.UnreadCounts) error {
	raw, err := json.Marshal(counts)
	if err != nil {
		return domain.Wrap(domain.KindInternal, err, "")
	}
	ctx, cancel := u.c.bound(ctx)
	defer cancel()
	return translate(u.c.rdb.Set(ctx, u.c.key("unread_count", string(user)), raw, u.ttl).Err())
}

// Invalidate drops the cached counts of users. Errors: KindUnavailable.
func (u *UnreadCache) Invalidate(ctx context.Context, users ...domain.UserID) error {
	if len(users) == 0 {
		return nil
	}
	keys := make([]string, len(users))
	for i, user := range users {
		keys[i] = u.c.key("unread_count", string(user))
	}
	ctx, cancel := u.c.bound(ctx)
	defer cancel()
	return translate(u.c.rdb.Del(ctx, keys...).Err())
}
