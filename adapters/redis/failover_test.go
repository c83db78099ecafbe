package redis_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/adapters/redis"
	"github.com/messenger-go/messenger/domain"
)

// privateRedis starts a master, a replica and three Sentinels of its own with
// scripts/services.sh in a temporary state dir (so killing its master
// disturbs no other test), and stops them at the end of the test. It returns
// the endpoints and the state dir, which holds the pidfiles.
func privateRedis(t *testing.T) (env, string) {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: starts a Redis master, replica and three Sentinels of its own; skipped by -short")
	}
	script, err := filepath.Abs("../../scripts/services.sh")
	require.NoError(t, err)
	dir := filepath.Join(t.TempDir(), "services")
	logPath := dir + ".log"
	run := func(timeout time.Duration, args ...string) error {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		log, err := os.OpenFile(logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			return err
		}
		defer log.Close()
		cmd := exec.CommandContext(ctx, "bash", append([]string{script}, args...)...)
		cmd.Env = append(os.Environ(),
			"MESSENGER_SERVICES_DIR="+dir, // the last value wins over an inherited one
			"MESSENGER_REDIS_DOWN_AFTER_MS=1000",
		)
		// A file, not a pipe: the daemons it starts must not keep the test waiting.
		cmd.Stdout, cmd.Stderr = log, log
		return cmd.Run()
	}
	pidfiles := []string{"redis-master.pid", "redis-replica.pid", "sentinel-1.pid", "sentinel-2.pid", "sentinel-3.pid"}
	t.Cleanup(func() {
		var pids []int
		for _, f := range pidfiles {
			if b, err := os.ReadFile(filepath.Join(dir, f)); err == nil {
				if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
					pids = append(pids, pid)
				}
			}
		}
		// Only the services of this private state dir.
		if err := run(2*time.Minute, "down", "redis"); err != nil {
			t.Logf("scripts/services.sh down redis (private state dir %s): %v; killing what is left", dir, err)
		}
		for _, pid := range pids {
			// Whatever survived, if it is still ours (its working dir is in dir).
			if cwd, err := os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid)); err == nil && strings.HasPrefix(cwd, dir) {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	})
	if err := run(5*time.Minute, "up", "redis"); err != nil {
		out, _ := os.ReadFile(logPath)
		if _, statErr := os.Stat(filepath.Join(dir, "redis.env")); statErr != nil {
			t.Fatalf("scripts/services.sh up redis: %v\n%s", err, out)
		}
		// The endpoints were written; whether they work is checked below.
		t.Logf("scripts/services.sh up redis: %v after writing redis.env; going on\n%s", err, out)
	}

	vars := map[string]string{}
	f, err := os.Open(filepath.Join(dir, "redis.env"))
	require.NoError(t, err)
	defer f.Close()
	for sc := bufio.NewScanner(f); sc.Scan(); {
		if name, value, ok := strings.Cut(sc.Text(), "="); ok {
			vars[name] = value
		}
	}
	e := env{
		MasterName: vars["MESSENGER_TEST_REDIS_MASTER"],
		Sentinels:  strings.Split(vars["MESSENGER_TEST_REDIS_SENTINELS"], ","),
		Password:   vars["MESSENGER_TEST_REDIS_PASSWORD"],
		Prefix:     "failover:" + domain.NewUUID()[:8] + ":",
	}
	require.NotEmpty(t, e.MasterName, "redis.env: %v", vars)
	return e, dir
}

// opStats records the calls made while the master dies.
type opStats struct {
	mu           sync.Mutex
	ok, failed   int
	maxLatency   time.Duration
	badKinds     []string
	lastFailure  time.Time
	firstOKAfter time.Time // first success after killedAt
	killedAt     time.Time
}

func (s *opStats) record(start time.Time, err error) {
	end := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.maxLatency = max(s.maxLatency, end.Sub(start))
	if err != nil {
		s.failed++
		s.lastFailure = end
		if k := domain.KindOf(err); k != domain.KindUnavailable {
			s.badKinds = append(s.badKinds, fmt.Sprintf("%s: %v", k, err))
		}
		return
	}
	s.ok++
	if !s.killedAt.IsZero() && start.After(s.killedAt) && s.firstOKAfter.IsZero() {
		s.firstOKAfter = end
	}
}

func (s *opStats) kill(at time.Time) {
	s.mu.Lock()
	s.killedAt = at
	s.mu.Unlock()
}

func (s *opStats) recoveredAt() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.firstOKAfter
}

// TestFailover kills the master with traffic running (presence heartbeats,
// cache writes and reads, rate limiting, fan-out from node 1 to a user on
// node 2) and checks that the adapter finds the new master by itself, that
// every call in between failed fast with KindUnavailable, and that no event
// published after recovery is lost.
func TestFailover(t *testing.T) {
	e, dir := privateRedis(t)
	ctx := t.Context()
	alice, bob := domain.NewUserID(), domain.NewUserID()
	n1 := startNode(t, e, "n1", bob)
	n2 := startNode(t, e, "n2", alice)
	cache, err := redis.NewUnreadCache(n1.client, redis.UnreadCacheConfig{})
	require.NoError(t, err)
	limiter, err := redis.NewRateLimiter(n1.client, redis.RateLimiterConfig{PerSecond: 100000})
	require.NoError(t, err)
	untilRouted(t, n1, n2, alice, 5*time.Second)

	sentinel := goredis.NewSentinelClient(&goredis.Options{Addr: e.Sentinels[0], Password: e.Password})
	t.Cleanup(func() { _ = sentinel.Close() })
	masterAddr := func() string {
		a, err := sentinel.GetMasterAddrByName(ctx, e.MasterName).Result()
		if err != nil {
			return ""
		}
		return strings.Join(a, ":")
	}
	oldMaster := masterAddr()
	require.NotEmpty(t, oldMaster)

	// Traffic: writes and reads on every tick, events from n1 to alice.
	var writes, reads, sends opStats
	trafficCtx, stopTraffic := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; trafficCtx.Err() == nil; i++ {
			start := time.Now()
			err := n2.presence.Register(trafficCtx, alice, n2.id)
			if err == nil {
				err = cache.Set(trafficCtx, bob, domain.UnreadCounts{Total: int64(i)})
			}
			if err == nil {
				err = limiter.Allow(trafficCtx, "send:"+string(bob))
			}
			writes.record(start, err)
			start = time.Now()
			_, _, err = cache.Get(trafficCtx, bob)
			reads.record(start, err)
			time.Sleep(5 * time.Millisecond)
		}
	})
	wg.Go(func() {
		for i := 0; trafficCtx.Err() == nil; i++ {
			start := time.Now()
			sends.record(start, n1.fanout.Notify(trafficCtx, []domain.UserID{alice}, domain.Event{Name: "traffic", Data: i}))
			time.Sleep(5 * time.Millisecond)
		}
	})
	time.Sleep(300 * time.Millisecond)

	pid := readPid(t, filepath.Join(dir, "redis-master.pid"))
	killedAt := time.Now()
	for _, s := range []*opStats{&writes, &reads, &sends} {
		s.kill(killedAt)
	}
	require.NoError(t, syscall.Kill(pid, syscall.SIGKILL))
	t.Logf("killed the master %s (pid %d)", oldMaster, pid)
	// When each Sentinel starts naming another master.
	sentinelSwitch := make([]time.Duration, len(e.Sentinels))
	var watchers sync.WaitGroup
	for i, addr := range e.Sentinels {
		sc := goredis.NewSentinelClient(&goredis.Options{Addr: addr, Password: e.Password})
		watchers.Go(func() {
			defer sc.Close()
			for time.Since(killedAt) < 30*time.Second {
				a, err := sc.GetMasterAddrByName(ctx, e.MasterName).Result()
				if err == nil && strings.Join(a, ":") != oldMaster {
					sentinelSwitch[i] = time.Since(killedAt)
					return
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
	}

	// Sentinel promotes the replica.
	var newMaster string
	require.Eventually(t, func() bool {
		newMaster = masterAddr()
		return newMaster != "" && newMaster != oldMaster
	}, 30*time.Second, 20*time.Millisecond, "Sentinel did not promote the replica")

	// The adapter writes again, by itself.
	require.Eventually(t, func() bool { return !writes.recoveredAt().IsZero() }, 30*time.Second, 10*time.Millisecond,
		"no write succeeded after the failover")
	writeRecovered := writes.recoveredAt()

	// Node 2 subscribes again by itself; from then on nothing is lost.
	untilRouted(t, n1, n2, alice, 30*time.Second)
	routedAt := time.Now()
	before := countNamed(n2.hub.of(alice), "after")
	require.Zero(t, before)
	const count = 200
	for i := range count {
		require.NoError(t, n1.fanout.Notify(ctx, []domain.UserID{alice}, domain.Event{Name: "after", Data: i}), "event %d after recovery", i)
	}
	require.True(t, n2.hub.waitFor(10*time.Second, func([]delivery) bool { return countNamed(n2.hub.of(alice), "after") >= count }),
		"events published after recovery were lost: got %d of %d", countNamed(n2.hub.of(alice), "after"), count)
	i := 0
	for _, d := range n2.hub.of(alice) {
		if d.Name == "after" {
			assert.JSONEq(t, fmt.Sprintf(`{"event":"after","data":%d}`, i), d.JSON, "order after recovery")
			i++
		}
	}
	stopTraffic()
	wg.Wait()

	// The writes after recovery are on the new master.
	direct := goredis.NewClient(&goredis.Options{Addr: newMaster, Password: e.Password})
	t.Cleanup(func() { _ = direct.Close() })
	role, err := direct.Do(ctx, "ROLE").Slice()
	require.NoError(t, err)
	assert.Equal(t, "master", role[0])
	nodes, err := direct.ZRange(ctx, e.Prefix+"user_socket:"+string(alice), 0, -1).Result()
	require.NoError(t, err)
	assert.Equal(t, []string{"n2"}, nodes, "presence heartbeats reach the new master")

	watchers.Wait()
	writeOutage := writeRecovered.Sub(killedAt)
	t.Logf("failover: master %s -> %s; the Sentinels named the new master %.2fs, %.2fs, %.2fs after the kill (down-after 1000 ms)",
		oldMaster, newMaster, sentinelSwitch[0].Seconds(), sentinelSwitch[1].Seconds(), sentinelSwitch[2].Seconds())
	t.Logf("failover: write outage %.2fs (kill -> first successful write); reads failed %d times, writes %d, fan-out sends %d",
		writeOutage.Seconds(), reads.failed, writes.failed, sends.failed)
	t.Logf("failover: node 2 received cross-node events again %.2fs after the kill", routedAt.Sub(killedAt).Seconds())
	t.Logf("failover: slowest single call during the failover: writes %s, reads %s, fan-out %s",
		writes.maxLatency.Round(time.Millisecond), reads.maxLatency.Round(time.Millisecond), sends.maxLatency.Round(time.Millisecond))
	t.Logf("failover: %d/%d events published after recovery delivered, in order", countNamed(n2.hub.of(alice), "after"), count)

	assert.Less(t, writeOutage, 10*time.Second, "the guide promises under 10 s")
	assert.Positive(t, writes.failed, "no write failed: was the master really killed?")
	for _, s := range []*opStats{&writes, &reads, &sends} {
		assert.Empty(t, s.badKinds, "calls during the failover must fail as unavailable")
		assert.Less(t, s.maxLatency, 2500*time.Millisecond, "a call hung during the failover")
	}
}

func readPid(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	require.NoError(t, err)
	return pid
}
