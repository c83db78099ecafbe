package memory_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/adapters/memory"
	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
	"github.com/messenger-go/messenger/ports/portstest"
)

func TestPresence(t *testing.T) {
	portstest.RunPresence(t, func(t *testing.T) ports.Presence { return memory.NewPresence(memory.PresenceConfig{}) })
}

func TestUnreadCache(t *testing.T) {
	portstest.RunUnreadCache(t, func(t *testing.T) ports.UnreadCache { return memory.NewUnreadCache(memory.UnreadCacheConfig{}) })
}

func TestRateLimiter(t *testing.T) {
	portstest.RunRateLimiter(t, func(t *testing.T, perSecond int) ports.RateLimiter {
		l, err := memory.NewRateLimiter(memory.RateLimiterConfig{PerSecond: float64(perSecond)})
		require.NoError(t, err)
		return l
	})
}

func TestPresenceExpires(t *testing.T) {
	clock := newFakeClock()
	p := memory.NewPresence(memory.PresenceConfig{TTL: time.Minute, Clock: clock})
	u := domain.NewUserID()
	require.NoError(t, p.Register(t.Context(), u, "n1"))
	require.NoError(t, p.Register(t.Context(), u, "n2"))
	clock.Add(40 * time.Second)
	require.NoError(t, p.Register(t.Context(), u, "n2")) // heartbeat
	clock.Add(30 * time.Second)
	nodes, err := p.Nodes(t.Context(), u)
	require.NoError(t, err)
	assert.Equal(t, []ports.NodeID{"n2"}, nodes, "n1 expired, n2 was refreshed")
	clock.Add(31 * time.Second)
	nodes, err = p.Nodes(t.Context(), u)
	require.NoError(t, err)
	assert.Empty(t, nodes)
}

func TestUnreadCacheExpiresAndCopies(t *testing.T) {
	clock := newFakeClock()
	c := memory.NewUnreadCache(memory.UnreadCacheConfig{TTL: time.Minute, Clock: clock})
	u := domain.NewUserID()
	conv, err := domain.NewConversationID(domain.NewUserID(), u)
	require.NoError(t, err)
	counts := domain.UnreadCounts{Total: 3, ByConversation: map[domain.ConversationID]int64{conv: 3}}
	require.NoError(t, c.Set(t.Context(), u, counts))
	counts.ByConversation[conv] = 99 // the caller's map is not the cache's

	clock.Add(59 * time.Second)
	got, ok, err := c.Get(t.Context(), u)
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, int64(3), got.ByConversation[conv])
	got.ByConversation[conv] = 42 // nor is the returned one
	again, _, err := c.Get(t.Context(), u)
	require.NoError(t, err)
	assert.Equal(t, int64(3), again.ByConversation[conv])

	clock.Add(2 * time.Second)
	_, ok, err = c.Get(t.Context(), u)
	require.NoError(t, err)
	assert.False(t, ok, "expired after the TTL")
}

func TestUnreadCacheHoldEnds(t *testing.T) {
	clock := newFakeClock()
	c := memory.NewUnreadCache(memory.UnreadCacheConfig{TTL: time.Minute, Hold: 10 * time.Second, Clock: clock})
	u := domain.NewUserID()
	counts := domain.UnreadCounts{Total: 1, ByConversation: map[domain.ConversationID]int64{}}
	require.NoError(t, c.Invalidate(t.Context(), u))
	clock.Add(9 * time.Second)
	require.NoError(t, c.Set(t.Context(), u, counts))
	_, ok, err := c.Get(t.Context(), u)
	require.NoError(t, err)
	assert.False(t, ok, "held back within the hold")

	clock.Add(time.Second)
	require.NoError(t, c.Set(t.Context(), u, counts))
	got, ok, err := c.Get(t.Context(), u)
	require.NoError(t, err)
	require.True(t, ok, "cached again once the hold is over")
	assert.Equal(t, int64(1), got.Total)
}

func TestRateLimiterRefillsAtItsRate(t *testing.T) {
	clock := newFakeClock()
	l, err := memory.NewRateLimiter(memory.RateLimiterConfig{PerSecond: 5, Clock: clock})
	require.NoError(t, err)
	allowed := func(n int) int {
		ok := 0
		for range n {
			if l.Allow(t.Context(), "k") == nil {
				ok++
			}
		}
		return ok
	}
	assert.Equal(t, 5, allowed(10), "the burst")
	clock.Add(200 * time.Millisecond)
	assert.Equal(t, 1, allowed(10), "one unit per fifth of a second")
	clock.Add(time.Hour)
	assert.Equal(t, 5, allowed(10), "the bucket holds at most the burst")
}

func TestNewRateLimiterRejectsBadConfig(t *testing.T) {
	cases := []struct {
		name string
		cfg  memory.RateLimiterConfig
	}{
		{"no rate", memory.RateLimiterConfig{}},
		{"negative rate", memory.RateLimiterConfig{PerSecond: -1}},
		{"negative burst", memory.RateLimiterConfig{PerSecond: 1, Burst: -1}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := memory.NewRateLimiter(c.cfg)
			assert.Equal(t, domain.KindInvalid, domain.KindOf(err), "error %v", err)
		})
	}
}
