package redis_test

import (
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/adapters/redis"
	"github.com/messenger-go/messenger/domain"
)

func TestOpenValidates(t *testing.T) {
	tests := []struct {
		name string
		cfg  redis.Config
		ok   bool
	}{
		{name: "plain address", cfg: redis.Config{Addr: "127.0.0.1:6379"}, ok: true},
		{name: "sentinels", cfg: redis.Config{MasterName: "mymaster", Sentinels: []string{"127.0.0.1:26379"}}, ok: true},
		{name: "nothing", cfg: redis.Config{}},
		{name: "master without sentinels", cfg: redis.Config{MasterName: "mymaster"}},
		{name: "empty sentinel address", cfg: redis.Config{MasterName: "mymaster", Sentinels: []string{" "}}},
		{name: "negative timeout", cfg: redis.Config{Addr: "127.0.0.1:6379", ReadTimeout: -time.Second}},
		{name: "negative db", cfg: redis.Config{Addr: "127.0.0.1:6379", DB: -1}},
		{name: "client name", cfg: redis.Config{Addr: "127.0.0.1:6379", ClientName: "messenger:host-1:3000"}, ok: true},
		{name: "client name with a space", cfg: redis.Config{Addr: "127.0.0.1:6379", ClientName: "node 1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := redis.Open(tt.cfg)
			if tt.ok {
				require.NoError(t, err)
				require.NoError(t, c.Close())
				require.NoError(t, c.Close(), "second Close")
				return
			}
			require.Error(t, err)
			assert.Equal(t, domain.KindInvalid, domain.KindOf(err))
		})
	}
}

func TestPing(t *testing.T) {
	e := redisEnv(t)
	c := open(t, e)
	require.NoError(t, c.Ping(t.Context()))
	check := c.HealthCheck()
	assert.Equal(t, "redis", check.Name)
	require.NoError(t, check.Check(t.Context()))
}

// A server that is gone must give KindUnavailable quickly, never hang.
func TestUnreachableIsUnavailableAndQuick(t *testing.T) {
	tests := []struct {
		name string
		cfg  func(addr string) redis.Config
	}{
		{name: "plain address", cfg: func(addr string) redis.Config { return redis.Config{Addr: addr} }},
		{name: "sentinels", cfg: func(addr string) redis.Config {
			return redis.Config{MasterName: "mymaster", Sentinels: []string{addr}}
		}},
		{name: "silent server", cfg: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var addr string
			if tt.cfg == nil {
				// Accepts connections and never answers: only timeouts end a call.
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				require.NoError(t, err)
				t.Cleanup(func() { _ = ln.Close() })
				go func() {
					for {
						cn, err := ln.Accept()
						if err != nil {
							return
						}
						t.Cleanup(func() { _ = cn.Close() })
					}
				}()
				addr = ln.Addr().String()
				tt.cfg = func(addr string) redis.Config { return redis.Config{Addr: addr} }
			} else {
				addr = closedPort(t)
			}
			c, err := redis.Open(tt.cfg(addr))
			require.NoError(t, err)
			t.Cleanup(func() { _ = c.Close() })
			cache, err := redis.NewUnreadCache(c, redis.UnreadCacheConfig{})
			require.NoError(t, err)

			start := time.Now()
			_, _, err = cache.Get(t.Context(), domain.NewUserID())
			took := time.Since(start)
			require.Error(t, err)
			assert.Equal(t, domain.KindUnavailable, domain.KindOf(err), "%v", err)
			assert.Less(t, took, 1500*time.Millisecond, "an unreachable Redis must fail fast")
			require.Error(t, c.Ping(t.Context()))
		})
	}
}

// closedPort returns a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

func TestNodeClientName(t *testing.T) {
	name := redis.NodeClientName("host 1:3000\té")
	assert.Equal(t, "messenger:host_1:3000__", name)
	c, err := redis.Open(redis.Config{Addr: "127.0.0.1:6379", ClientName: name})
	require.NoError(t, err, "a node's name is always accepted")
	require.NoError(t, c.Close())
}
