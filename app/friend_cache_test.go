package app_test

import (
	"context"
	"errors"
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

// fakeChanges is a ports.FriendshipChanges whose watchers the test calls, as
// announcements from other nodes would.
type fakeChanges struct {
	err       error
	announced [][2]domain.UserID
	changed   func(a, b domain.UserID)
	lost      func()
}

func (f *fakeChanges) AnnounceFriendshipChange(_ context.Context, a, b domain.UserID) error {
	f.announced = append(f.announced, [2]domain.UserID{a, b})
	return f.err
}

func (f *fakeChanges) WatchFriendshipChanges(changed func(a, b domain.UserID), lost func()) {
	f.changed, f.lost = changed, lost
}

// hookedFriends runs onRead, when set, in the middle of each friendship read.
type hookedFriends struct {
	ports.FriendStore
	onRead func()
}

func (h *hookedFriends) Friendship(ctx context.Context, a, b domain.UserID) (domain.Friendship, error) {
	f, err := h.FriendStore.Friendship(ctx, a, b)
	if h.onRead != nil {
		h.onRead()
	}
	return f, err
}

func TestFriendshipCacheWithAnnouncements(t *testing.T) {
	ctx := context.Background()
	now := time.Now().UTC()
	// setup returns friends a and b whose "may message" answer is cached, after
	// the store was changed to block them as another node would.
	setup := func(t *testing.T) (*world, *fakeChanges, *hookedFriends, domain.UserID, domain.UserID) {
		feed := &fakeChanges{}
		var hooked *hookedFriends
		w := newWorld(t, func(c *app.Config) {
			hooked = &hookedFriends{FriendStore: c.Friends}
			c.Friends = hooked
			c.FriendshipChanges = feed
		})
		a, b := w.user(t, "ann"), w.user(t, "ben")
		w.friends(t, a, b)
		require.NoError(t, w.send(ctx, a, b))
		w.elsewhere(t, a, b, func(f domain.Friendship) (domain.Friendship, error) { return f.Block(b, a, now) })
		require.NoError(t, w.send(ctx, a, b), "the answer is cached (the default TTL with announcements is long)")
		return w, feed, hooked, a, b
	}

	t.Run("a change announced by another node applies at once", func(t *testing.T) {
		w, feed, _, a, b := setup(t)
		feed.changed(b, a)
		assert.Equal(t, domain.KindForbidden, domain.KindOf(w.send(ctx, a, b)))
	})

	t.Run("an announcement of another pair keeps this one cached", func(t *testing.T) {
		w, feed, _, a, b := setup(t)
		feed.changed(a, domain.NewUserID())
		assert.NoError(t, w.send(ctx, a, b))
	})

	t.Run("missed announcements drop everything", func(t *testing.T) {
		w, feed, _, a, b := setup(t)
		feed.lost()
		assert.Equal(t, domain.KindForbidden, domain.KindOf(w.send(ctx, a, b)))
	})

	t.Run("a read that raced with an announcement is not kept", func(t *testing.T) {
		w, feed, hooked, a, _ := setup(t)
		c := w.user(t, "cat")
		w.friends(t, a, c)
		// The change lands while the read is in flight: the answer serves
		// this send but is not cached.
		hooked.onRead = func() {
			hooked.onRead = nil
			w.elsewhere(t, a, c, func(f domain.Friendship) (domain.Friendship, error) { return f.Block(c, a, now) })
			feed.changed(a, c)
		}
		require.NoError(t, w.send(ctx, a, c))
		assert.Equal(t, domain.KindForbidden, domain.KindOf(w.send(ctx, a, c)))
	})

	t.Run("changes made here are announced, and made even if the announcement fails", func(t *testing.T) {
		w, feed, _, a, _ := setup(t)
		c := w.user(t, "cat")
		w.friends(t, a, c)
		feed.announced, feed.err = nil, errors.New("redis down")
		_, err := w.app.Block(ctx, c, a)
		require.NoError(t, err)
		require.Len(t, feed.announced, 1)
		assert.ElementsMatch(t, []domain.UserID{a, c}, feed.announced[0][:])
		assert.Equal(t, domain.KindForbidden, domain.KindOf(w.send(ctx, a, c)))
	})
}
