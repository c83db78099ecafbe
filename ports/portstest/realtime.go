package portstest

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
)

// RunPresence runs the contract of ports.Presence, and of
// ports.BatchPresence and ports.PresenceLookup when the implementation has
// them.
func RunPresence(t *testing.T, newPresence func(t *testing.T) ports.Presence) {
	node := func() ports.NodeID { return ports.NodeID("node-" + token(8)) }
	nodes := func(t *testing.T, p ports.Presence, u domain.UserID) []ports.NodeID {
		t.Helper()
		got, err := p.Nodes(t.Context(), u)
		require.NoError(t, err)
		return got
	}

	t.Run("an unknown user is offline", func(t *testing.T) {
		p := newPresence(t)
		assert.Empty(t, nodes(t, p, domain.NewUserID()))
	})

	t.Run("register, several nodes, unregister", func(t *testing.T) {
		p := newPresence(t)
		u := domain.NewUserID()
		n1, n2 := node(), node()
		require.NoError(t, p.Register(t.Context(), u, n1))
		assert.Equal(t, []ports.NodeID{n1}, nodes(t, p, u))
		require.NoError(t, p.Register(t.Context(), u, n2))
		assert.ElementsMatch(t, []ports.NodeID{n1, n2}, nodes(t, p, u))
		require.NoError(t, p.Unregister(t.Context(), u, n1))
		assert.Equal(t, []ports.NodeID{n2}, nodes(t, p, u))
		require.NoError(t, p.Unregister(t.Context(), u, n2))
		assert.Empty(t, nodes(t, p, u))
	})

	t.Run("register and unregister are idempotent", func(t *testing.T) {
		p := newPresence(t)
		u := domain.NewUserID()
		n := node()
		for range 3 { // the heartbeat registers again and again
			require.NoError(t, p.Register(t.Context(), u, n))
		}
		assert.Equal(t, []ports.NodeID{n}, nodes(t, p, u))
		require.NoError(t, p.Unregister(t.Context(), u, n))
		require.NoError(t, p.Unregister(t.Context(), u, n))
		assert.Empty(t, nodes(t, p, u))
		require.NoError(t, p.Unregister(t.Context(), domain.NewUserID(), n), "unregistering an unknown user")
	})

	t.Run("users are independent", func(t *testing.T) {
		p := newPresence(t)
		u1, u2 := domain.NewUserID(), domain.NewUserID()
		n1, n2 := node(), node()
		require.NoError(t, p.Register(t.Context(), u1, n1))
		require.NoError(t, p.Register(t.Context(), u2, n1))
		require.NoError(t, p.Register(t.Context(), u2, n2))
		require.NoError(t, p.Unregister(t.Context(), u2, n1))
		assert.Equal(t, []ports.NodeID{n1}, nodes(t, p, u1))
		assert.Equal(t, []ports.NodeID{n2}, nodes(t, p, u2))
	})

	t.Run("a batch registers as Register does, when supported", func(t *testing.T) {
		bp, ok := newPresence(t).(ports.BatchPresence)
		if !ok {
			return // an optional interface: nothing to check
		}
		users := make([]domain.UserID, 700)
		for i := range users {
			users[i] = domain.NewUserID()
		}
		n1, n2 := node(), node()
		require.NoError(t, bp.Register(t.Context(), users[0], n2))
		require.NoError(t, bp.RegisterBatch(t.Context(), users, n1))
		require.NoError(t, bp.RegisterBatch(t.Context(), users[:1], n1), "idempotent")
		require.NoError(t, bp.RegisterBatch(t.Context(), nil, n1), "empty")
		assert.ElementsMatch(t, []ports.NodeID{n1, n2}, nodes(t, bp, users[0]))
		for _, u := range users[1:] {
			require.Equal(t, []ports.NodeID{n1}, nodes(t, bp, u))
		}
		require.NoError(t, bp.Unregister(t.Context(), users[1], n1))
		assert.Empty(t, nodes(t, bp, users[1]))
	})

	t.Run("a lookup of many users answers as Nodes does, when supported", func(t *testing.T) {
		runPresenceLookup(t, newPresence(t))
	})
}

// RunUnreadCache runs the contract of ports.UnreadCache.
func RunUnreadCache(t *testing.T, newCache func(t *testing.T) ports.UnreadCache) {
	counts := func(n int64) domain.UnreadCounts {
		a, _ := domain.NewConversationID(domain.NewUserID(), domain.NewUserID())
		b, _ := domain.NewConversationID(domain.NewUserID(), domain.NewUserID())
		return domain.UnreadCounts{Total: n + 2, ByConversation: map[domain.ConversationID]int64{a: n, b: 2}}
	}
	get := func(t *testing.T, c ports.UnreadCache, u domain.UserID) (domain.UnreadCounts, bool) {
		t.Helper()
		got, ok, err := c.Get(t.Context(), u)
		require.NoError(t, err)
		return got, ok
	}

	t.Run("a miss is not an error", func(t *testing.T) {
		c := newCache(t)
		_, ok := get(t, c, domain.NewUserID())
		assert.False(t, ok)
	})

	t.Run("set then get round-trips", func(t *testing.T) {
		c := newCache(t)
		u := domain.NewUserID()
		want := counts(5)
		require.NoError(t, c.Set(t.Context(), u, want))
		got, ok := get(t, c, u)
		require.True(t, ok)
		assert.Equal(t, want, got)

		newer := counts(9)
		require.NoError(t, c.Set(t.Context(), u, newer))
		got, ok = get(t, c, u)
		require.True(t, ok)
		assert.Equal(t, newer, got, "set replaces")
	})

	t.Run("zero counts are a hit", func(t *testing.T) {
		c := newCache(t)
		u := domain.NewUserID()
		require.NoError(t, c.Set(t.Context(), u, domain.UnreadCounts{ByConversation: map[domain.ConversationID]int64{}}))
		got, ok := get(t, c, u)
		require.True(t, ok)
		assert.Equal(t, int64(0), got.Total)
		assert.Empty(t, got.ByConversation)
	})

	t.Run("invalidate drops the given users only", func(t *testing.T) {
		c := newCache(t)
		u1, u2, u3 := domain.NewUserID(), domain.NewUserID(), domain.NewUserID()
		for _, u := range []domain.UserID{u1, u2, u3} {
			require.NoError(t, c.Set(t.Context(), u, counts(1)))
		}
		require.NoError(t, c.Invalidate(t.Context(), u1, u2, domain.NewUserID()))
		_, ok := get(t, c, u1)
		assert.False(t, ok)
		_, ok = get(t, c, u2)
		assert.False(t, ok)
		_, ok = get(t, c, u3)
		assert.True(t, ok)
		require.NoError(t, c.Invalidate(t.Context()), "invalidating nobody")
	})

	t.Run("a set soon after an invalidation is ignored", func(t *testing.T) {
		// The counts may have been read before the change that invalidated
		// them: caching them now would keep them past it.
		c := newCache(t)
		u, other := domain.NewUserID(), domain.NewUserID()
		require.NoError(t, c.Set(t.Context(), u, counts(1)))
		require.NoError(t, c.Invalidate(t.Context(), u))
		require.NoError(t, c.Set(t.Context(), u, counts(1)))
		require.NoError(t, c.Set(t.Context(), other, counts(3)))
		_, ok := get(t, c, u)
		assert.False(t, ok, "the stale counts were not cached")
		got, ok := get(t, c, other)
		require.True(t, ok, "other users are not held back")
		assert.Equal(t, counts(3).Total, got.Total)
	})
}

// RunRateLimiter runs the contract of ports.RateLimiter. newLimiter returns a
// limiter that allows perSecond actions a second per key, with a burst of
// perSecond.
func RunRateLimiter(t *testing.T, newLimiter func(t *testing.T, perSecond int) ports.RateLimiter) {
	t.Run("the burst is allowed, then rate limited", func(t *testing.T) {
		l := newLimiter(t, 5)
		key := "k-" + token(12)
		for i := range 5 {
			require.NoError(t, l.Allow(t.Context(), key), "action %d", i+1)
		}
		err := l.Allow(t.Context(), key)
		errorKind(t, domain.KindRateLimited, err)
		assert.True(t, errors.Is(err, domain.ErrRateLimited))
	})

	t.Run("keys are independent", func(t *testing.T) {
		l := newLimiter(t, 5)
		k1, k2 := "k-"+token(12), "k-"+token(12)
		for range 5 {
			require.NoError(t, l.Allow(t.Context(), k1))
		}
		errorKind(t, domain.KindRateLimited, l.Allow(t.Context(), k1))
		for i := range 5 {
			require.NoError(t, l.Allow(t.Context(), k2), "action %d of another key", i+1)
		}
	})

	t.Run("the budget refills over time", func(t *testing.T) {
		l := newLimiter(t, 5)
		key := "k-" + token(12)
		for range 5 {
			require.NoError(t, l.Allow(t.Context(), key))
		}
		errorKind(t, domain.KindRateLimited, l.Allow(t.Context(), key))
		assert.Eventually(t, func() bool { return l.Allow(t.Context(), key) == nil }, 3*time.Second, 50*time.Millisecond,
			"one unit comes back after a fifth of a second")
	})
}
