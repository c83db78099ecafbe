package redis_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/adapters/redis"
	"github.com/messenger-go/messenger/ports"
	"github.com/messenger-go/messenger/ports/portstest"
)

func TestThrottleContract(t *testing.T) {
	portstest.RunThrottle(t, func(t *testing.T, clock ports.Clock) ports.Throttle {
		th, err := redis.NewThrottle(open(t, redisEnv(t)), redis.ThrottleConfig{Clock: clock})
		require.NoError(t, err)
		return th
	})
}

// TestThrottleSharedByNodes: two nodes (two clients) count the attempts of a
// key together, and its keys stay under the prefix and expire.
func TestThrottleSharedByNodes(t *testing.T) {
	e := redisEnv(t)
	clock := portstest.NewClock()
	node1, err := redis.NewThrottle(open(t, e), redis.ThrottleConfig{Clock: clock})
	require.NoError(t, err)
	node2, err := redis.NewThrottle(open(t, e), redis.ThrottleConfig{Clock: clock})
	require.NoError(t, err)
	b := ports.Backoff{Free: 4, Delay: time.Second, MaxDelay: time.Minute, Window: time.Hour}

	for i, th := range []ports.Throttle{node1, node2, node1} {
		wait, err := th.Record(t.Context(), "login:alice", b)
		require.NoError(t, err)
		require.Zero(t, wait, "attempt %d", i+1)
	}
	wait, err := node2.Record(t.Context(), "login:alice", b)
	require.NoError(t, err)
	assert.Equal(t, time.Second, wait, "the fourth attempt, on either node, imposes the first wait")
	wait, err = node1.Check(t.Context(), "login:alice")
	require.NoError(t, err)
	assert.Equal(t, time.Second, wait, "the other node sees it")

	require.NoError(t, node1.Reset(t.Context(), "login:alice"))
	wait, err = node2.Check(t.Context(), "login:alice")
	require.NoError(t, err)
	assert.Zero(t, wait, "a reset on one node is seen by the other")

	_, err = node1.Record(t.Context(), "login:bob", b)
	require.NoError(t, err)
	rdb := raw(t, e)
	for _, k := range keys(t, rdb, "") {
		if strings.Contains(k, "login:alice") {
			t.Errorf("alice's key %q outlived the reset", k)
		}
	}
	left := keys(t, rdb, e.Prefix)
	require.Equal(t, []string{e.Prefix + "throttle:login:bob"}, left, "only bob's key is left, under the prefix")
	ttl, err := rdb.PTTL(t.Context(), left[0]).Result()
	require.NoError(t, err)
	assert.True(t, ttl > 0 && ttl <= time.Hour, "the key expires a window after the last attempt, ttl %s", ttl)
}
