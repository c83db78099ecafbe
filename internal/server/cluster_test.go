package server_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/client"
	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/testenv"
)

// The tests in this file run the real binary, several processes of it, on the
// real stack: PostgreSQL, Kafka and Redis through Sentinel, from testenv.

var buildOnce struct {
	sync.Once
	path string
	err  error
}

// binary builds cmd/messenger once per test process.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		_, file, _, _ := runtime.Caller(0)
		root := filepath.Join(filepath.Dir(file), "..", "..")
		dir, err := os.MkdirTemp("", "messenger-bin-")
		if err != nil {
			buildOnce.err = err
			return
		}
		buildOnce.path = filepath.Join(dir, "messenger")
		cmd := exec.Command("go", "build", "-o", buildOnce.path, "./cmd/messenger")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			buildOnce.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	require.NoError(t, buildOnce.err)
	return buildOnce.path
}

// stack is one deployment: a fresh database, topic and key prefixes of its own.
type stack struct {
	env map[string]string
}

func newStack(t testing.TB) *stack {
	t.Helper()
	pg := testenv.Postgres(t)
	rd := testenv.Redis(t)
	kf := testenv.Kafka(t)
	env := map[string]string{
		"NODE_ENV":               "production",
		"MESSENGER_DATABASE_URL": pg,
		// The local stack's fast database is not crash safe unless
		// MESSENGER_POSTGRES_DURABLE=1; these tests kill no database.
		"MESSENGER_DB_ALLOW_NON_DURABLE":      "true",
		"KAFKA_BROKERS":                       kf.Brokers,
		"MESSENGER_KAFKA_TOPIC_PREFIX":        kf.TopicPrefix,
		"MESSENGER_REDIS_KEY_PREFIX":          rd.Prefix,
		"REDIS_PASSWORD":                      rd.Password,
		"MESSENGER_JWT_PRIVATE_KEY_FILE":      testKeyFile(t),
		"MESSENGER_PASSWORD_MEMORY_KIB":       "64",
		"MESSENGER_PASSWORD_ITERATIONS":       "1",
		"MESSENGER_REGISTRATIONS_PER_ADDRESS": "100000",
		"MESSENGER_LOG_LEVEL":                 "info",
		"MESSENGER_SEND_RATE_LIMIT":           "0",
		"MESSENGER_KAFKA_PARTITIONS":          "chat-messages=4,typing-indicators=2,read-receipts=2,friend-events=1",
	}
	if len(rd.Sentinels) > 0 {
		env["MESSENGER_REDIS_SENTINELS"] = strings.Join(rd.Sentinels, ",")
		env["MESSENGER_REDIS_MASTER_NAME"] = rd.MasterName
	} else {
		env["MESSENGER_REDIS_ADDR"] = rd.Addr
	}
	return &stack{env: env}
}

// node is one running server process.
type node struct {
	name    string
	base    string
	metrics string // the metrics listener's base URL
	cmd     *exec.Cmd
	done    chan error
	logs    *os.File
}

// start runs a server process of the stack and waits until /readyz says ready.
func (s *stack) start(t *testing.T, name string) *node {
	t.Helper()
	port, metricsPort := freePort(t), freePort(t)
	cmd := exec.Command(binary(t))
	cmd.Env = os.Environ()
	for k, v := range s.env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Env = append(cmd.Env, "MESSENGER_ADDR=127.0.0.1:"+port, "MESSENGER_METRICS_ADDR=127.0.0.1:"+metricsPort, "MESSENGER_NODE_ID="+name)
	logs, err := os.Create(filepath.Join(t.TempDir(), name+".log"))
	require.NoError(t, err)
	cmd.Stdout, cmd.Stderr = logs, logs
	require.NoError(t, cmd.Start())
	n := &node{name: name, base: "http://127.0.0.1:" + port, metrics: "http://127.0.0.1:" + metricsPort, cmd: cmd, done: make(chan error, 1), logs: logs}
	go func() { n.done <- cmd.Wait() }()
	t.Cleanup(func() {
		n.stop(t)
		if t.Failed() {
			n.dump(t)
		}
	})

	deadline := time.Now().Add(90 * time.Second)
	for {
		select {
		case err := <-n.done:
			n.done <- err
			n.dump(t)
			t.Fatalf("%s exited before becoming ready: %v", name, err)
		default:
		}
		resp, err := http.Get(n.base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return n
			}
		}
		if time.Now().After(deadline) {
			n.dump(t)
			t.Fatalf("%s not ready within 90s", name)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// stop sends SIGTERM and waits for a clean exit.
func (n *node) stop(t *testing.T) {
	t.Helper()
	if n.cmd.ProcessState != nil {
		return
	}
	_ = n.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-n.done:
		n.done <- err
		if err != nil {
			t.Errorf("%s exited with %v", n.name, err)
		}
	case <-time.After(40 * time.Second):
		_ = n.cmd.Process.Kill()
		t.Errorf("%s did not stop within 40s of SIGTERM", n.name)
	}
}

func (n *node) dump(t *testing.T) {
	t.Helper()
	f, err := os.Open(n.logs.Name())
	if err != nil {
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	lines := []string{}
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if len(lines) > 80 {
		lines = lines[len(lines)-80:]
	}
	t.Logf("--- last log lines of %s ---\n%s", n.name, strings.Join(lines, "\n"))
}

func freePort(t *testing.T) string {
	t.Helper()
	for {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		port := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		if port < 32768 {
			return fmt.Sprint(port)
		}
		// Above the ephemeral range start; pick a fixed band below it instead.
		ln, err = net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", 20000+port%10000))
		if err == nil {
			port = ln.Addr().(*net.TCPAddr).Port
			ln.Close()
			return fmt.Sprint(port)
		}
	}
}

// TestClusterChat runs the whole wire contract with alice on node 1 and bob on
// node 2 of one deployment.
func TestClusterChat(t *testing.T) {
	s := newStack(t)
	n1 := s.start(t, "node-1")
	n2 := s.start(t, "node-2")

	var ready struct {
		Status string            `json:"status"`
		Checks map[string]string `json:"checks"`
	}
	require.NoError(t, client.New(n1.base, nil).Do(context.Background(), "GET", "/readyz", nil, &ready))
	require.Equal(t, "ok", ready.Status)
	require.Len(t, ready.Checks, 3, "readiness reports each dependency: %v", ready.Checks)
	require.Equal(t, "ok", ready.Checks["kafka"])
	require.Equal(t, "ok", ready.Checks["redis"])
	// The test stack's PostgreSQL runs with fsync off: ready, with a warning.
	require.Regexp(t, `^(ok|warning: not crash safe: fsync=off; .*)$`, ready.Checks["postgres"])

	chatScenario(t, n1.base, n2.base)
}

// aliceAndBobOnTwoNodes starts two nodes of a new stack and registers alice
// through node 1 and bob through node 2 (their clients call those nodes).
func aliceAndBobOnTwoNodes(t *testing.T) (n1, n2 *node, alice, bob *user) {
	t.Helper()
	s := newStack(t)
	n1, n2 = s.start(t, "node-1"), s.start(t, "node-2")
	return n1, n2, register(t, n1.base, "Alice"), register(t, n2.base, "Bob")
}

// TestClusterNodeStopsMidConversation stops the node holding bob's socket while
// alice keeps writing through both nodes; bob reconnects to the other node and
// resumes, and nothing answered 202 is lost or stored twice.
func TestClusterNodeStopsMidConversation(t *testing.T) {
	ctx := context.Background()
	n1, n2, alice, bob := aliceAndBobOnTwoNodes(t)
	alice.connect(t, n1.base)
	bob.connect(t, n2.base)
	befriend(t, alice, bob)
	conv, _ := domain.NewConversationID(alice.id, bob.id)

	const total = 60
	accepted := make(chan string, total)
	sendErr := make(chan error, 1)
	go func() {
		for i := 0; i < total; i++ {
			cid := fmt.Sprintf("m-%03d", i)
			req := client.SendRequest{ReceiverID: bob.id, Message: "msg " + cid, ClientMessageID: cid}
			// Alternate nodes; when one is gone, retry the same send on the
			// other (I8: a retried clientMessageId is stored once).
			nodes := []string{n1.base, n2.base}
			var err error
			for attempt := 0; attempt < 6; attempt++ {
				c := client.New(nodes[(i+attempt)%2], nil).WithToken(alice.Token())
				if _, err = c.Send(ctx, req); err == nil {
					accepted <- cid
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
			if err != nil {
				sendErr <- fmt.Errorf("send %s failed on every node: %w", cid, err)
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		close(accepted)
	}()

	// Bob reads live until his node goes away mid-stream.
	var seen []domain.Message
	for len(seen) < 10 {
		seen = append(seen, bob.messages(t, 1)...)
	}
	n2.stop(t)
	for f := range bob.frames { // the socket is closed by the shutdown
		if f.Event == domain.EventNewMessage {
			var m domain.Message
			require.NoError(t, f.Decode(&m))
			seen = append(seen, m)
		}
	}
	last := seen[len(seen)-1].Sequence
	bob.reconnect(t, n1.base, map[domain.ConversationID]domain.Sequence{conv: last})

	var acceptedIDs []string
	for cid := range accepted {
		acceptedIDs = append(acceptedIDs, cid)
	}
	select {
	case err := <-sendErr:
		t.Fatal(err)
	default:
	}
	require.Len(t, acceptedIDs, total)
	seen = append(seen, bob.messages(t, total-len(seen))...)

	// Bob saw 1..total in order, each once.
	for i, m := range seen {
		require.Equal(t, domain.Sequence(i+1), m.Sequence, "bob's view is contiguous and ordered")
	}
	hist, _, err := alice.History(ctx, string(conv), domain.Page{Limit: domain.MaxPageLimit})
	require.NoError(t, err)
	require.Len(t, hist, total, "every accepted send stored exactly once")
	stored := map[string]bool{}
	for i, m := range hist {
		require.Equal(t, domain.Sequence(i+1), m.Sequence)
		require.False(t, stored[m.ClientMessageID], "stored twice: %s", m.ClientMessageID)
		stored[m.ClientMessageID] = true
	}
	for _, cid := range acceptedIDs {
		require.True(t, stored[cid], "accepted but not stored: %s", cid)
	}
}

// TestClusterBlockAppliesOnEveryNode: a block made through node 2 stops
// alice's sends through node 1 at once, although node 1 had just read that
// the two may message each other (nodes cache that answer for 30 s and learn
// of changes from each other).
func TestClusterBlockAppliesOnEveryNode(t *testing.T) {
	ctx := context.Background()
	_, _, alice, bob := aliceAndBobOnTwoNodes(t)
	befriend(t, alice, bob)

	send := func(cid string) error {
		_, err := alice.Send(ctx, client.SendRequest{ReceiverID: bob.id, Message: "hi", ClientMessageID: cid})
		return err
	}
	require.NoError(t, send("before-block"))
	require.NoError(t, bob.Do(ctx, "POST", "/friends/block", map[string]any{"friendId": alice.id}, nil))
	blocked := time.Now()
	var err error
	for i := 0; time.Since(blocked) < 3*time.Second; i++ {
		if err = send(fmt.Sprintf("after-block-%d", i)); err != nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	var apiErr *client.Error
	require.ErrorAs(t, err, &apiErr, "alice's sends through node 1 still accepted 3 s after the block")
	require.Equal(t, http.StatusForbidden, apiErr.Status)
}
