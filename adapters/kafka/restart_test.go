package kafka_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	ckafka "github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/adapters/kafka"
	"github.com/messenger-go/messenger/domain"
)

// broker is a Kafka broker of the test's own, started by scripts/services.sh
// in a private state directory, so that restarting it disturbs no other test.
type broker struct {
	script string
	dir    string
	addr   string
}

func startBroker(t *testing.T) *broker {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: starts a Kafka broker of its own; skipped by -short")
	}
	script, err := filepath.Abs(filepath.Join("..", "..", "scripts", "services.sh"))
	require.NoError(t, err)
	_, err = os.Stat(script)
	require.NoError(t, err, "the services script starts the test's own broker")
	b := &broker{script: script, dir: t.TempDir()}
	t.Cleanup(func() { b.terminate(t) })
	out := b.run(t, "up", "kafka")
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "export MESSENGER_TEST_KAFKA_BROKERS="); ok {
			b.addr = strings.Trim(v, "'")
		}
	}
	require.NotEmpty(t, b.addr, "broker address in the script's output:\n%s", out)
	return b
}

// run runs a subcommand of the services script on the test's state directory
// and returns its standard output.
func (b *broker) run(t *testing.T, args ...string) []byte {
	t.Helper()
	cmd := exec.Command("bash", append([]string{b.script}, args...)...)
	cmd.Env = append(os.Environ(), "MESSENGER_SERVICES_DIR="+b.dir)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "services.sh %v:\n%s", args, stderr.String())
	return out
}

// pid returns the broker's process id, 0 when it has none.
func (b *broker) pid() int {
	raw, err := os.ReadFile(filepath.Join(b.dir, "kafka.pid"))
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(raw)))
	return pid
}

// signal sends sig to the broker and waits up to timeout for it to exit.
func (b *broker) signal(sig syscall.Signal, timeout time.Duration) bool {
	pid := b.pid()
	if pid <= 0 || syscall.Kill(pid, sig) != nil {
		return true
	}
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); {
		if syscall.Kill(pid, 0) != nil {
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false
}

// kill ends the broker process with SIGKILL, as a crash would.
func (b *broker) kill(t *testing.T) {
	t.Helper()
	require.Positive(t, b.pid(), "broker pid")
	require.True(t, b.signal(syscall.SIGKILL, 10*time.Second), "broker killed")
}

// freeze stops (SIGSTOP) or continues (SIGCONT) the broker process: its
// sockets stay open and the kernel keeps accepting connections, but nothing
// answers.
func (b *broker) freeze(t *testing.T, stop bool) {
	t.Helper()
	sig := syscall.SIGCONT
	if stop {
		sig = syscall.SIGSTOP
	}
	require.Positive(t, b.pid(), "broker pid")
	require.NoError(t, syscall.Kill(b.pid(), sig))
}

// terminate stops the broker for good, whatever state the script left.
func (b *broker) terminate(t *testing.T) {
	if pid := b.pid(); pid > 0 {
		_ = syscall.Kill(pid, syscall.SIGCONT) // a frozen broker acts on SIGTERM only once continued
	}
	if !b.signal(syscall.SIGTERM, 30*time.Second) {
		t.Log("broker ignored SIGTERM, killing it")
		b.signal(syscall.SIGKILL, 10*time.Second)
	}
}

// restartLogger is logger(t), or when that discards, one that writes the
// clients' warnings to stderr: go test shows them only if the test fails.
func restartLogger(t *testing.T) *slog.Logger {
	if l := logger(t); l != nil {
		return l
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// dump logs what a failed restart test needs to be understood: the leaders
// the broker reports for topic's partitions, and the end of its log before
// and after the restart.
func (b *broker) dump(t *testing.T, topic string) {
	admin, err := ckafka.NewAdminClient(&ckafka.ConfigMap{"bootstrap.servers": b.addr, "log_level": 3})
	if err == nil {
		md, err := admin.GetMetadata(&topic, false, 5000)
		if err == nil {
			for _, p := range md.Topics[topic].Partitions {
				t.Logf("metadata: %s[%d] leader %d isr %v err %v", topic, p.ID, p.Leader, p.Isrs, p.Error)
			}
		} else {
			t.Logf("metadata: %v", err)
		}
		admin.Close()
	}
	for _, name := range []string{"kafka.log.1", "kafka.log"} {
		raw, err := os.ReadFile(filepath.Join(b.dir, "kafka", name))
		if err != nil {
			t.Logf("%s: %v", name, err)
			continue
		}
		lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
		t.Logf("%s, last %d of %d lines:\n%s", name, min(len(lines), 40), len(lines),
			strings.Join(lines[max(len(lines)-40, 0):], "\n"))
	}
}

// TestBrokerRestart publishes from several goroutines while the broker stops
// and starts again, then checks that every publish that returned nil is in the
// log, and that the others failed with KindUnavailable.
func TestBrokerRestart(t *testing.T) {
	b := startBroker(t)
	restart := func(t *testing.T) { b.run(t, "kafka-start") }
	tests := []struct {
		name        string
		stop, start func(t *testing.T)
	}{
		{name: "graceful stop", stop: func(t *testing.T) { b.run(t, "kafka-stop") }, start: restart},
		{name: "killed", stop: b.kill, start: restart},
		// A broker that stops answering without closing its connections (a
		// long pause, a frozen host) and then goes on.
		{name: "frozen", stop: func(t *testing.T) { b.freeze(t, true) }, start: func(t *testing.T) { b.freeze(t, false) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := kafka.Config{
				Brokers:         b.addr,
				TopicPrefix:     "t" + random(6) + ".",
				DeliveryTimeout: 30 * time.Second,
				Logger:          restartLogger(t),
				Debug:           os.Getenv("MESSENGER_TEST_KAFKA_DEBUG"),
			}
			const topic, workers = "restart", 8
			t.Cleanup(func() {
				if t.Failed() {
					b.dump(t, cfg.TopicPrefix+topic)
				}
			})
			require.NoError(t, kafka.EnsureTopics(t.Context(), cfg, map[string]int{topic: 3}))
			p := newPublisher(t, cfg)
			s := newSubscriber(t, cfg)
			live := newSink() // consumes through the restart
			stopLive := consume(t, s, "live-readers", topic, live.handler)

			var mu sync.Mutex
			var acked []string
			var slow int // acknowledged after waiting through the outage
			failed := map[domain.Kind]int{}
			stop := make(chan struct{})
			var wg sync.WaitGroup
			var stopOnce sync.Once
			stopWorkers := func() {
				stopOnce.Do(func() { close(stop) })
				wg.Wait()
			}
			t.Cleanup(stopWorkers)
			for w := range workers {
				wg.Go(func() {
					for i := 0; ; i++ {
						select {
						case <-stop:
							return
						default:
						}
						v := fmt.Sprintf("w%d:%d", w, i)
						ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
						start := time.Now()
						err := p.Publish(ctx, topic, []byte(fmt.Sprint("w", w)), []byte(v))
						cancel()
						mu.Lock()
						if err == nil {
							acked = append(acked, v)
							if time.Since(start) > time.Second {
								slow++
							}
						} else {
							failed[domain.KindOf(err)]++
							t.Logf("publish %s: %v", v, err)
						}
						mu.Unlock()
						time.Sleep(2 * time.Millisecond)
					}
				})
			}
			count := func() int {
				mu.Lock()
				defer mu.Unlock()
				return len(acked)
			}
			require.Eventually(t, func() bool { return count() > 0 }, waitFor, 10*time.Millisecond,
				"publishing works before the stop")
			time.Sleep(time.Second)
			before := count()
			down := time.Now()
			tt.stop(t)
			stopped := time.Since(down)
			time.Sleep(2 * time.Second)
			tt.start(t)
			up := time.Now()
			atRestart := count()
			// Publishing works again after the restart. Publishes that waited
			// through a long outage may time out (DeliveryTimeout) first.
			require.Eventually(t, func() bool { return count() > atRestart }, cfg.DeliveryTimeout+waitFor, 20*time.Millisecond,
				"publishing works after the restart")
			recovered := time.Since(up)
			time.Sleep(time.Second)
			stopWorkers()

			mu.Lock()
			t.Logf("stop took %v, outage %v, first acknowledgement %v after the restart",
				stopped.Round(time.Millisecond), up.Sub(down).Round(time.Millisecond), recovered.Round(time.Millisecond))
			t.Logf("acknowledged: %d before the stop, %d more by the restart, %d in all; %d waited through the outage; failed: %v",
				before, atRestart-before, len(acked), slow, failed)
			for kind, n := range failed {
				assert.Equal(t, domain.KindUnavailable, kind, "%d publishes failed with kind %v", n, kind)
			}
			want := append([]string(nil), acked...)
			mu.Unlock()

			after := newSink() // a group that starts after the restart
			stopAfter := consume(t, s, "later-readers", topic, after.handler)
			for name, sk := range map[string]*sink{"running through the restart": live, "started after it": after} {
				require.Eventually(t, func() bool { return sk.hasAll(want) }, 2*waitFor, 20*time.Millisecond,
					"a group %s consumes every acknowledged record", name)
				sk.mu.Lock()
				dups := 0
				for _, n := range sk.seen {
					dups += n - 1
				}
				t.Logf("group %s: %d distinct records, %d duplicates", name, len(sk.seen), dups)
				checkWorkerOrder(t, sk.order)
				sk.mu.Unlock()
			}
			require.NoError(t, stopLive())
			require.NoError(t, stopAfter())
		})
	}
}

// checkWorkerOrder asserts that each worker's records were first consumed in
// the order it published them (they share a key).
func checkWorkerOrder(t *testing.T, order []string) {
	t.Helper()
	last := map[string]int{}
	for _, v := range order {
		w, n, _ := strings.Cut(v, ":")
		i, err := strconv.Atoi(n)
		require.NoError(t, err)
		if prev, ok := last[w]; ok {
			assert.Greater(t, i, prev, "worker %s: %s consumed after %s:%d", w, v, w, prev)
		}
		last[w] = i
	}
}
