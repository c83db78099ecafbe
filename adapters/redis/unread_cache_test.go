package redis_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/adapters/redis"
	"github.com/messenger-go/messenger/domain"
)

func TestUnreadCache(t *testing.T) {
	e := redisEnv(t)
	cache, err := redis.NewUnreadCache(open(t, e), redis.UnreadCacheConfig{})
	require.NoError(t, err)
	rdb := raw(t, e)
	ctx := t.Context()
	alice, bob := domain.NewUserID(), domain.NewUserID()
	conv, err := domain.NewConversationID(alice, bob)
	require.NoError(t, err)
	counts := domain.UnreadCounts{Total: 3, ByConversation: map[domain.ConversationID]int64{conv: 3}}

	_, ok, err := cache.Get(ctx, alice)
	require.NoError(t, err)
	assert.False(t, ok, "empty cache hits")

	require.NoError(t, cache.Set(ctx, alice, counts))
	got, ok, err := cache.Get(ctx, alice)
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, counts, got)

	// The guide's key, under the prefix, with the guide's TTL.
	key := e.Prefix + "unread_count:" + string(alice)
	assert.Equal(t, []string{key}, keys(t, rdb, e.Prefix))
	ttl, err := rdb.TTL(ctx, key).Result()
	require.NoError(t, err)
	assert.InDelta(t, 60, ttl.Seconds(), 2)
	assert.JSONEq(t, `{"unreadCount":3,"byConversation":{"`+string(conv)+`":3}}`, rdb.Get(ctx, key).Val())

	require.NoError(t, cache.Set(ctx, bob, domain.UnreadCounts{}))
	require.NoError(t, cache.Invalidate(ctx, alice, bob))
	require.NoError(t, cache.Invalidate(ctx), "nothing to invalidate")
	for _, u := range []domain.UserID{alice, bob} {
		_, ok, err = cache.Get(ctx, u)
		require.NoError(t, err)
		assert.False(t, ok, "invalidated counts still cached")
	}
	hold, err := rdb.PTTL(ctx, key).Result()
	require.NoError(t, err)
	assert.InDelta(t, redis.DefaultUnreadHold.Seconds(), hold.Seconds(), 2, "the invalidation's marker lasts the hold")
	require.NoError(t, cache.Set(ctx, alice, counts))
	_, ok, err = cache.Get(ctx, alice)
	require.NoError(t, err)
	assert.False(t, ok, "a Set within the hold does not cache")

	// A value that does not decode is a miss, not an error.
	require.NoError(t, rdb.Set(ctx, key, "{not json", time.Minute).Err())
	_, ok, err = cache.Get(ctx, alice)
	require.NoError(t, err)
	assert.False(t, ok)
}

func TestUnreadCacheTTL(t *testing.T) {
	e := redisEnv(t)
	const ttl = 90 * time.Second
	cache, err := redis.NewUnreadCache(open(t, e), redis.UnreadCacheConfig{TTL: ttl})
	require.NoError(t, err)
	user := domain.NewUserID()
	require.NoError(t, cache.Set(t.Context(), user, domain.UnreadCounts{Total: 1}))
	_, ok, err := cache.Get(t.Context(), user)
	require.NoError(t, err)
	require.True(t, ok)
	// Redis expires the key; what the cache decides is the key's time to live.
	left, err := raw(t, e).PTTL(t.Context(), e.Prefix+"unread_count:"+string(user)).Result()
	require.NoError(t, err)
	assert.LessOrEqual(t, left, ttl)
	assert.Greater(t, left, ttl-30*time.Second, "the configured TTL, not the default one")
}
