//go:build chaos

package chaos_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/testenv"
)

// repoRoot is the module's root directory.
func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

var build struct {
	once sync.Once
	path string
	err  error
}

// binary builds the server with the chaos failpoints, once per run.
func binary(t *testing.T) string {
	t.Helper()
	build.once.Do(func() {
		dir, err := os.MkdirTemp("", "messenger-chaos-")
		if err != nil {
			build.err = err
			return
		}
		build.path = filepath.Join(dir, "messenger")
		cmd := exec.Command("go", "build", "-tags", "chaos", "-o", build.path, "./cmd/messenger")
		cmd.Dir = repoRoot()
		if out, err := cmd.CombinedOutput(); err != nil {
			build.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	require.NoError(t, build.err)
	return build.path
}

// services runs a command of scripts/services.sh on the suite's stack.
func services(t *testing.T, args ...string) {
	t.Helper()
	cmd := exec.Command("bash", append([]string{filepath.Join(repoRoot(), "scripts", "services.sh")}, args...)...)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "services.sh %v:\n%s", args, out)
}

// cluster is one deployment of two nodes on a database, topics and keys of
// its own.
type cluster struct {
	env   map[string]string
	dsn   string
	kafka testenv.KafkaEnv
	redis testenv.RedisEnv
	nodes [2]*node
}

func newCluster(t *testing.T) *cluster {
	t.Helper()
	if os.Getenv("MESSENGER_TEST_POSTGRES_DURABLE") != "1" || os.Getenv("MESSENGER_TEST_KAFKA_NODES") != "3" {
		t.Fatal("the chaos suite needs three Kafka nodes and a durable PostgreSQL: " +
			"MESSENGER_KAFKA_NODES=3 MESSENGER_POSTGRES_DURABLE=1 scripts/services.sh up (make chaos does it)")
	}
	c := &cluster{dsn: testenv.Postgres(t), kafka: testenv.Kafka(t), redis: testenv.Redis(t)}
	c.env = map[string]string{
		"NODE_ENV":                            "production",
		"MESSENGER_DATABASE_URL":              c.dsn,
		"KAFKA_BROKERS":                       c.kafka.Brokers,
		"MESSENGER_KAFKA_TOPIC_PREFIX":        c.kafka.TopicPrefix,
		"MESSENGER_KAFKA_REPLICATION_FACTOR":  "3",
		"MESSENGER_KAFKA_MIN_INSYNC_REPLICAS": "2",
		"MESSENGER_KAFKA_PARTITIONS":          "chat-messages=6,typing-indicators=2,read-receipts=2,friend-events=1",
		"MESSENGER_REDIS_KEY_PREFIX":          c.redis.Prefix,
		"MESSENGER_REDIS_SENTINELS":           strings.Join(c.redis.Sentinels, ","),
		"MESSENGER_REDIS_MASTER_NAME":         c.redis.MasterName,
		"REDIS_PASSWORD":                      c.redis.Password,
		"MESSENGER_JWT_PRIVATE_KEY_FILE":      filepath.Join(repoRoot(), "testdata", "jwt-test-key.pem"),
		"MESSENGER_PASSWORD_MEMORY_KIB":       "64",
		"MESSENGER_PASSWORD_ITERATIONS":       "1",
		"MESSENGER_REGISTRATIONS_PER_ADDRESS": "100000",
		"MESSENGER_SEND_RATE_LIMIT":           "0",
		"MESSENGER_WS_OPEN_RATE":              "0",
		"MESSENGER_LOG_LEVEL":                 "warn",
	}
	for i := range c.nodes {
		c.nodes[i] = &node{name: fmt.Sprintf("node%d", i+1), port: freePort(t), metrics: freePort(t), logs: filepath.Join(t.TempDir(), fmt.Sprintf("node%d.log", i+1))}
		t.Cleanup(func() {
			c.nodes[i].stop()
			if t.Failed() {
				c.nodes[i].dump(t)
			}
		})
	}
	return c
}

// node is one server process, restartable on the same port.
type node struct {
	name, port, metrics, logs string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

func (n *node) base() string { return "http://127.0.0.1:" + n.port }

// start runs the node with the cluster's environment and extra, and waits
// until /readyz answers 200.
func (c *cluster) start(t *testing.T, n *node, extra ...string) {
	t.Helper()
	path := binary(t)
	if err := c.startErr(path, n, extra...); err != nil {
		n.dump(t)
		t.Fatal(err)
	}
}

// startErr is start for goroutines other than the test's.
func (c *cluster) startErr(path string, n *node, extra ...string) error {
	cmd := exec.Command(path)
	cmd.Env = os.Environ()
	for k, v := range c.env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Env = append(cmd.Env, "MESSENGER_ADDR=127.0.0.1:"+n.port, "MESSENGER_METRICS_ADDR=127.0.0.1:"+n.metrics, "MESSENGER_NODE_ID="+n.name)
	cmd.Env = append(cmd.Env, extra...)
	logs, err := os.OpenFile(n.logs, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		logs.Close()
		return err
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		logs.Close()
		close(done)
	}()
	n.mu.Lock()
	n.cmd, n.done = cmd, done
	n.mu.Unlock()

	deadline := time.Now().Add(90 * time.Second)
	for {
		select {
		case <-done:
			return fmt.Errorf("%s exited before becoming ready", n.name)
		default:
		}
		resp, err := http.Get(n.base() + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready within 90s", n.name)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// exited is closed when the current process ends.
func (n *node) exited() <-chan struct{} {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.done
}

func (n *node) signal(sig syscall.Signal) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cmd != nil && n.cmd.Process != nil {
		_ = n.cmd.Process.Signal(sig)
	}
}

// kill ends the process with SIGKILL and waits for it.
func (n *node) kill() {
	n.signal(syscall.SIGKILL)
	if d := n.exited(); d != nil {
		<-d
	}
}

// stop ends the process gracefully (SIGTERM, then SIGKILL after 30s).
func (n *node) stop() {
	d := n.exited()
	if d == nil {
		return
	}
	n.signal(syscall.SIGCONT)
	n.signal(syscall.SIGTERM)
	select {
	case <-d:
	case <-time.After(30 * time.Second):
		n.kill()
	}
}

func (n *node) dump(t *testing.T) {
	t.Helper()
	b, err := os.ReadFile(n.logs)
	if err != nil {
		return
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > 40 {
		lines = lines[len(lines)-40:]
	}
	t.Logf("--- last log lines of %s ---\n%s", n.name, strings.Join(lines, "\n"))
}

// freePort returns a loopback port below the ephemeral range, so that a
// restarted node finds its port free.
func freePort(t *testing.T) string {
	t.Helper()
	for i := 0; ; i++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		port := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		if port < 32768 {
			return fmt.Sprint(port)
		}
		ln, err = net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", 20000+(port+i)%10000))
		if err == nil {
			port = ln.Addr().(*net.TCPAddr).Port
			ln.Close()
			return fmt.Sprint(port)
		}
	}
}

// waitCtx is a context for one step of a scenario.
func waitCtx(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), d)
	t.Cleanup(cancel)
	return ctx
}

// scrapeClient reads the nodes' metrics; a node must answer a scrape in time.
var scrapeClient = &http.Client{Timeout: 10 * time.Second}

// sequenceReuses sums the nodes' messenger_ws_sequence_reuses_total: live
// messages a socket got under a sequence it had sent under another id (since
// each node's last start).
func (c *cluster) sequenceReuses(t *testing.T) int {
	t.Helper()
	total := 0
	for _, n := range c.nodes {
		resp, err := scrapeClient.Get("http://127.0.0.1:" + n.metrics + "/metrics")
		require.NoError(t, err, "%s answers its metrics scrape", n.name)
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.NoError(t, err)
		found := false
		for line := range strings.Lines(string(b)) {
			if v, ok := strings.CutPrefix(line, "messenger_ws_sequence_reuses_total "); ok {
				f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
				require.NoError(t, err)
				total += int(f)
				found = true
			}
		}
		require.True(t, found, "%s exports messenger_ws_sequence_reuses_total", n.name)
	}
	return total
}
