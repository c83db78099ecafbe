//go:build chaos

package chaos_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/adapters/kafka"
	"github.com/messenger-go/messenger/ports"
)

// scenario is one fault under load. inject runs a quarter into the load: it
// starts the fault, holds it for the settings' fault length, ends it, and
// returns when it started and ended.
type scenario struct {
	name   string
	inject func(t *testing.T, c *cluster, s settings) (start, end time.Time, err error)
	// node1Env is extra environment for the first node's first start.
	node1Env []string
	// firstTimeout makes each send's first attempt time out (see run).
	firstTimeout time.Duration
}

var scenarios = []scenario{
	{name: "kafka broker kill -9", inject: func(t *testing.T, c *cluster, s settings) (time.Time, time.Time, error) {
		return hold(s, "kafka-kill 2", "kafka-start 2")
	}},
	{name: "kafka broker SIGSTOP", inject: func(t *testing.T, c *cluster, s settings) (time.Time, time.Time, error) {
		return hold(s, "kafka-pause 3", "kafka-resume 3")
	}},
	{name: "kafka leader of a busy partition kill -9", inject: func(t *testing.T, c *cluster, s settings) (time.Time, time.Time, error) {
		n, err := busiestLeader(c)
		if err != nil {
			return time.Time{}, time.Time{}, err
		}
		return hold(s, fmt.Sprintf("kafka-kill %d", n), fmt.Sprintf("kafka-start %d", n))
	}},
	{name: "kafka active controller kill -9", inject: func(t *testing.T, c *cluster, s settings) (time.Time, time.Time, error) {
		leader, err := servicesOut("kafka-controller-leader")
		if err != nil {
			return time.Time{}, time.Time{}, err
		}
		return hold(s, "kafka-kill "+leader, "kafka-start "+leader)
	}},
	{name: "redis master kill -9", inject: func(t *testing.T, c *cluster, s settings) (time.Time, time.Time, error) {
		return redisFault(c, s, syscall.SIGKILL)
	}},
	{name: "redis master SIGSTOP", inject: func(t *testing.T, c *cluster, s settings) (time.Time, time.Time, error) {
		return redisFault(c, s, syscall.SIGSTOP)
	}},
	{name: "postgres kill -9 of every process", inject: func(t *testing.T, c *cluster, s settings) (time.Time, time.Time, error) {
		return hold(s, "postgres-kill", "postgres-start")
	}},
	{name: "node kill -9", inject: func(t *testing.T, c *cluster, s settings) (time.Time, time.Time, error) {
		start := time.Now()
		c.nodes[0].kill()
		time.Sleep(s.fault)
		return start, time.Now(), c.restart(0)
	}},
	{name: "node SIGSTOP", inject: func(t *testing.T, c *cluster, s settings) (time.Time, time.Time, error) {
		start := time.Now()
		c.nodes[0].signal(syscall.SIGSTOP)
		time.Sleep(s.fault)
		c.nodes[0].signal(syscall.SIGCONT)
		return start, time.Now(), nil
	}},
	{
		name:     "consumer killed between its db commit and its offset commit",
		node1Env: []string{"MESSENGER_FAILPOINT_KILL_AFTER_COMMIT=20"},
		inject: func(t *testing.T, c *cluster, s settings) (time.Time, time.Time, error) {
			select {
			case <-c.nodes[0].exited():
			case <-time.After(s.load):
				return time.Time{}, time.Time{}, fmt.Errorf("the failpoint did not fire")
			}
			start := time.Now()
			time.Sleep(s.fault)
			return start, time.Now(), c.restart(0)
		},
	},
	{name: "client retries crossing nodes", firstTimeout: 3 * time.Millisecond, inject: func(t *testing.T, c *cluster, s settings) (time.Time, time.Time, error) {
		return time.Now(), time.Now(), nil // the fault is the client's: every first attempt times out
	}},
}

// hold runs the services command that starts a fault, waits the fault's
// length, and runs the one that ends it.
func hold(s settings, begin, end string) (time.Time, time.Time, error) {
	start := time.Now()
	if err := servicesErr(strings.Fields(begin)...); err != nil {
		return start, start, err
	}
	time.Sleep(s.fault)
	stop := time.Now()
	return start, stop, servicesErr(strings.Fields(end)...)
}

func servicesErr(args ...string) error {
	_, err := servicesOut(args...)
	return err
}

// servicesOut runs a services command and returns what it printed on stdout.
func servicesOut(args ...string) (string, error) {
	cmd := exec.Command("bash", append([]string{filepath.Join(repoRoot(), "scripts", "services.sh")}, args...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("services.sh %v: %v\n%s%s", args, err, out, stderr.String())
	}
	return strings.TrimSpace(string(out)), nil
}

// busiestLeader is the Kafka node leading most partitions of the messages.
func busiestLeader(c *cluster) (int32, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	leaders, err := kafka.PartitionLeaders(ctx, kafka.Config{Brokers: c.kafka.Brokers, TopicPrefix: c.kafka.TopicPrefix}, ports.TopicChatMessages)
	if err != nil {
		return 0, err
	}
	count := map[int32]int{}
	best := int32(-1)
	for _, l := range leaders {
		count[l]++
		if best < 0 || count[l] > count[best] {
			best = l
		}
	}
	if best < 1 {
		return 0, fmt.Errorf("no leaders in %v", leaders)
	}
	return best, nil
}

// redisFault kills or freezes the current Redis master for the fault's
// length, then brings it back (as the replica it has become).
func redisFault(c *cluster, s settings, sig syscall.Signal) (time.Time, time.Time, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sc := goredis.NewSentinelClient(&goredis.Options{Addr: c.redis.Sentinels[0], Password: c.redis.Password})
	defer sc.Close()
	addr, err := sc.GetMasterAddrByName(ctx, c.redis.MasterName).Result()
	if err != nil {
		return time.Time{}, time.Time{}, err
	}
	dir := os.Getenv("MESSENGER_SERVICES_DIR")
	ports, err := os.ReadFile(filepath.Join(dir, "redis", "ports"))
	if err != nil {
		return time.Time{}, time.Time{}, err
	}
	pidfile := "redis-replica.pid"
	if strings.Fields(string(ports))[0] == addr[1] {
		pidfile = "redis-master.pid"
	}
	b, err := os.ReadFile(filepath.Join(dir, pidfile))
	if err != nil {
		return time.Time{}, time.Time{}, err
	}
	var pid int
	if _, err := fmt.Sscan(string(b), &pid); err != nil {
		return time.Time{}, time.Time{}, err
	}
	start := time.Now()
	if err := syscall.Kill(pid, sig); err != nil {
		return start, start, err
	}
	time.Sleep(s.fault)
	stop := time.Now()
	if sig == syscall.SIGSTOP {
		return start, stop, syscall.Kill(pid, syscall.SIGCONT)
	}
	return start, stop, servicesErr("redis-start")
}

// restart starts node i again on its port.
func (c *cluster) restart(i int) error { return c.startErr(build.path, c.nodes[i]) }

func TestChaos(t *testing.T) {
	s := settingsFromEnv(t)
	only := regexp.MustCompile(os.Getenv("MESSENGER_CHAOS_SCENARIOS"))
	var table []string
	for _, sc := range scenarios {
		if !only.MatchString(sc.name) {
			continue
		}
		t.Run(strings.ReplaceAll(sc.name, " ", "_"), func(t *testing.T) {
			row := runScenario(t, sc, s)
			table = append(table, row)
		})
	}
	report := "| scenario | sends acked (retried) | send outage | delivery p99 | delivery max | restart | backlog after the fault | lost | duplicated | out of order |\n" +
		"|---|---|---|---|---|---|---|---|---|---|\n" + strings.Join(table, "\n") + "\n"
	t.Logf("load %s at %.0f sends/s from %d pairs, faults of %s\n%s", s.load, s.rate, s.pairs, s.fault, report)
	if f := os.Getenv("MESSENGER_CHAOS_REPORT"); f != "" {
		require.NoError(t, os.WriteFile(f, []byte(report), 0o644))
	}
}

func runScenario(t *testing.T, sc scenario, s settings) string {
	c := newCluster(t)
	c.start(t, c.nodes[0], sc.node1Env...)
	c.start(t, c.nodes[1])
	r := newRun(t, c, s)
	r.firstTimeout = sc.firstTimeout

	readCtx, stopReading := context.WithCancel(context.Background())
	var readers, senders sync.WaitGroup
	defer func() {
		stopReading()
		readers.Wait()
	}()
	r.receive(t, readCtx, &readers)

	loadCtx, stopLoad := context.WithTimeout(context.Background(), s.load)
	defer stopLoad()
	began := time.Now()
	r.load(loadCtx, began.Add(s.load+2*s.fault+30*time.Second), &senders)

	// A fault runs from start to end; back is when the command that ends it
	// returned (a restarted service answering again).
	type window struct {
		start, end, back time.Time
		err              error
	}
	fault := make(chan window, 1)
	go func() {
		if sc.node1Env == nil {
			time.Sleep(s.load / 4)
		}
		var w window
		w.start, w.end, w.err = sc.inject(t, c, s)
		w.back = time.Now()
		fault <- w
	}()
	<-loadCtx.Done()
	w := <-fault
	require.NoError(t, w.err, "injecting the fault")
	senders.Wait()
	deadline := time.Now().Add(60 * time.Second)
	for !r.drained() && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // late duplicates
	res := r.check(t, w.end)
	if n := c.sequenceReuses(t); n > 0 {
		res.violations = append(res.violations, fmt.Sprintf("I4: sockets got %d messages under a sequence already sent under another id", n))
	}
	t.Logf("%s: fault %s..%s (%s); %d sends answered 202 (%d after a retry), %d definite failures; %d socket reconnects; "+
		"longest send %s; delivery p99 %s, max %s; backlog delivered %s after the fault (the service answered again after %s); lost %d, duplicated %d, out of order %d",
		sc.name, w.start.Sub(began).Round(100*time.Millisecond), w.end.Sub(began).Round(100*time.Millisecond),
		w.end.Sub(w.start).Round(100*time.Millisecond), res.acked, res.retried, res.definite, r.reconnects,
		res.outage.Round(10*time.Millisecond), res.p99.Round(10*time.Millisecond), res.maxDelivery.Round(10*time.Millisecond),
		res.backlog.Round(10*time.Millisecond), w.back.Sub(w.end).Round(10*time.Millisecond), res.lost, res.duplicated, res.order)
	for i, v := range res.violations {
		if i == 20 {
			t.Errorf("... and %d more", len(res.violations)-20)
			break
		}
		t.Error(v)
	}
	return fmt.Sprintf("| %s | %d (%d) | %s | %s | %s | %s | %s | %d | %d | %d |", sc.name, res.acked, res.retried,
		res.outage.Round(10*time.Millisecond), res.p99.Round(10*time.Millisecond), res.maxDelivery.Round(10*time.Millisecond),
		w.back.Sub(w.end).Round(10*time.Millisecond), res.backlog.Round(10*time.Millisecond), res.lost, res.duplicated, res.order)
}
