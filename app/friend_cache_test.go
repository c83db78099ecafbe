package app_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/app"
	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
)

// countingFriends counts the friendship reads that reach the store.
type countingFriends struct {
	ports.FriendStore
	reads atomic.Int64
}

func (c *countingFriends) Friendship(ctx context.Context, a, b domain.UserID) (domain.Friendship, error) {
	c.reads.Add(1)
	return c.FriendStore.Friendship(ctx, a, b)
}

// cachedWorld is a world whose App reads friendships through a counter and
// keeps "may message" answers for ttl.
func cachedWorld(t *testing.T, ttl time.Duration) (*world, *countingFriends) {
	t.Helper()
	var counter *countingFriends
	w := newWorld(t, func(c *app.Config) {
		counter = &countingFriends{FriendStore: c.Friends}
		c.Friends = counter
		c.FriendshipCacheTTL = ttl
	})
	return w, counter
}

func (w *world) send(ctx context.Context, from, to domain.UserID) error {
	_, err := w.app.SendMessage(ctx, domain.Draft{SenderID: from, ReceiverID: to, Text: "hi"})
	return err
}

// elsewhere changes a friendship in the store directly, as another node would.
func (w *world) elsewhere(t *testing.T, a, b domain.UserID, fn func(domain.Friendship) (domain.Friendship, error)) {
	t.Helper()
	_, err := w.store.UpdateFriendship(context.Background(), a, b, fn)
	require.NoError(t, err)
}

func TestFriendshipCache(t *testing.T) {
	ctx := context.Background()
	now := time.Now().UTC()

	t.Run("sends of a pair read the friendship once per TTL", func(t *testing.T) {
		w, counter := cachedWorld(t, time.Hour)
		a, b := w.user(t, "ann"), w.user(t, "ben")
		w.friends(t, a, b)
		before := counter.reads.Load()
		for range 5 {
			require.NoError(t, w.send(ctx, a, b))
			require.NoError(t, w.send(ctx, b, a))
		}
		assert.Equal(t, int64(1), counter.reads.Load()-before, "one read for both directions of the pair")
	})

	t.Run("a block made through the App applies at once", func(t *testing.T) {
		w, _ := cachedWorld(t, time.Hour)
		a, b := w.user(t, "ann"), w.user(t, "ben")
		w.friends(t, a, b)
		require.NoError(t, w.send(ctx, a, b))
		_, err := w.app.Block(ctx, b, a)
		require.NoError(t, err)
		err = w.send(ctx, a, b)
		require.Error(t, err)
		assert.Equal(t, domain.KindForbidden, domain.KindOf(err))
	})

	t.Run("a refusal is read again on every send", func(t *testing.T) {
		w, counter := cachedWorld(t, time.Hour)
		a, b := w.user(t, "ann"), w.user(t, "ben")
		before := counter.reads.Load()
		require.Error(t, w.send(ctx, a, b))
		require.Error(t, w.send(ctx, a, b))
		assert.Equal(t, int64(2), counter.reads.Load()-before)
		w.elsewhere(t, a, b, func(f domain.Friendship) (domain.Friendship, error) {
			f, _, err := f.Request(a, b, now)
			return f, err
		})
		w.elsewhere(t, a, b, func(f domain.Friendship) (domain.Friendship, error) { return f.Accept(b, now) })
		assert.NoError(t, w.send(ctx, a, b), "friends made on another node may message at once")
	})

	t.Run("a block made on another node applies within the TTL", func(t *testing.T) {
		const ttl = 100 * time.Millisecond
		w, _ := cachedWorld(t, ttl)
		a, b := w.user(t, "ann"), w.user(t, "ben")
		w.friends(t, a, b)
		require.NoError(t, w.send(ctx, a, b))
		blocked := time.Now()
		w.elsewhere(t, a, b, func(f domain.Friendship) (domain.Friendship, error) { return f.Block(b, a, now) })
		require.Eventually(t, func() bool {
			return domain.KindOf(w.send(ctx, a, b)) == domain.KindForbidden
		}, 5*time.Second, 5*time.Millisecond)
		assert.Less(t, time.Since(blocked), ttl+time.Second, "refused within the TTL (and scheduling slack)")
	})

	t.Run("a negative TTL reads on every send", func(t *testing.T) {
		w, counter := cachedWorld(t, -1)
		a, b := w.user(t, "ann"), w.user(t, "ben")
		w.friends(t, a, b)
		before := counter.reads.Load()
		for range 3 {
			require.NoError(t, w.send(ctx, a, b))
		}
		assert.Equal(t, int64(3), counter.reads.Load()-before)
		w.elsewhere(t, a, b, func(f domain.Friendship) (domain.Friendship, error) { return f.Block(b, a, now) })
		assert.Equal(t, domain.KindForbidden, domain.KindOf(w.send(ctx, a, b)))
	})
}
