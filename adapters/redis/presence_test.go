package redis_test

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/adapters/redis"
	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
)

// clock is a settable ports.Clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func TestPresence(t *testing.T) {
	e := redisEnv(t)
	clk := &clock{now: time.Now()}
	p, err := redis.NewPresence(open(t, e), redis.PresenceConfig{NodeTTL: 30 * time.Second, Clock: clk})
	require.NoError(t, err)
	assert.Equal(t, 30*time.Second, p.NodeTTL())
	ctx := t.Context()
	alice, bob := domain.NewUserID(), domain.NewUserID()

	nodes, err := p.Nodes(ctx, alice)
	require.NoError(t, err)
	assert.Empty(t, nodes, "unknown user")

	require.NoError(t, p.Register(ctx, alice, "n1"))
	require.NoError(t, p.Register(ctx, alice, "n2"))
	require.NoError(t, p.Register(ctx, alice, "n2"), "idempotent")
	require.NoError(t, p.Register(ctx, bob, "n1"))
	nodes, err = p.Nodes(ctx, alice)
	require.NoError(t, err)
	assert.ElementsMatch(t, []ports.NodeID{"n1", "n2"}, nodes)

	// The guide's key, under the prefix, expiring in 24 h.
	rdb := raw(t, e)
	key := e.Prefix + "user_socket:" + string(alice)
	assert.ElementsMatch(t, []string{key, e.Prefix + "user_socket:" + string(bob)}, keys(t, rdb, e.Prefix))
	ttl, err := rdb.TTL(ctx, key).Result()
	require.NoError(t, err)
	assert.InDelta(t, (24 * time.Hour).Seconds(), ttl.Seconds(), 5)

	require.NoError(t, p.Unregister(ctx, alice, "n1"))
	require.NoError(t, p.Unregister(ctx, alice, "n1"), "idempotent")
	require.NoError(t, p.Unregister(ctx, alice, "n9"), "never registered")
	nodes, err = p.Nodes(ctx, alice)
	require.NoError(t, err)
	assert.Equal(t, []ports.NodeID{"n2"}, nodes)

	// n2 stops heartbeating (crashed); n3 keeps going.
	require.NoError(t, p.Register(ctx, alice, "n3"))
	clk.advance(20 * time.Second)
	require.NoError(t, p.Register(ctx, alice, "n3"))
	clk.advance(15 * time.Second)
	nodes, err = p.Nodes(ctx, alice)
	require.NoError(t, err)
	assert.Equal(t, []ports.NodeID{"n3"}, nodes, "an entry older than the node TTL is ignored")
	// The next heartbeat prunes the dead entry from Redis.
	require.NoError(t, p.Register(ctx, alice, "n3"))
	members, err := rdb.ZRange(ctx, key, 0, -1).Result()
	require.NoError(t, err)
	assert.Equal(t, []string{"n3"}, members, "expired entries are pruned")

	require.NoError(t, p.Unregister(ctx, alice, "n3"))
	nodes, err = p.Nodes(ctx, alice)
	require.NoError(t, err)
	assert.Empty(t, nodes)
	assert.Zero(t, rdb.Exists(ctx, key).Val(), "an empty presence leaves no key")
}

func TestPresenceRejects(t *testing.T) {
	e := redisEnv(t)
	p, err := redis.NewPresence(open(t, e), redis.PresenceConfig{})
	require.NoError(t, err)
	tests := []struct {
		name string
		user domain.UserID
		node ports.NodeID
	}{
		{name: "empty user", node: "n1"},
		{name: "empty node", user: domain.NewUserID()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, domain.KindInvalid, domain.KindOf(p.Register(t.Context(), tt.user, tt.node)))
			assert.Equal(t, domain.KindInvalid, domain.KindOf(p.Unregister(t.Context(), tt.user, tt.node)))
		})
	}
}

func TestNewPresenceValidates(t *testing.T) {
	c, err := redis.Open(redis.Config{Addr: "127.0.0.1:1"})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	tests := []struct {
		name string
		cfg  redis.PresenceConfig
		ok   bool
	}{
		{name: "defaults", ok: true},
		{name: "negative node ttl", cfg: redis.PresenceConfig{NodeTTL: -time.Second}},
		{name: "key ttl below node ttl", cfg: redis.PresenceConfig{NodeTTL: time.Hour, KeyTTL: time.Minute}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := redis.NewPresence(c, tt.cfg)
			if tt.ok {
				require.NoError(t, err)
				assert.Equal(t, redis.DefaultNodeTTL, p.NodeTTL())
				return
			}
			assert.Equal(t, domain.KindInvalid, domain.KindOf(err))
		})
	}
	_, err = redis.NewPresence(nil, redis.PresenceConfig{})
	assert.Equal(t, domain.KindInvalid, domain.KindOf(err))
}
