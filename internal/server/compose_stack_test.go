package server_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/client"
	"github.com/messenger-go/messenger/domain"
)

// The compose stack end to end (make test runs it in its container step,
// with MESSENGER_TEST_COMPOSE=1 and the Docker API of Podman's socket).
const (
	envCompose         = "MESSENGER_TEST_COMPOSE"     // 1: run TestComposeStackEndToEnd
	envComposeCommand  = "MESSENGER_COMPOSE"          // default docker-compose; "docker compose" works too
	envComposeOverride = "MESSENGER_COMPOSE_OVERRIDE" // default deploy/compose.local-images.yaml; "none" for the public images
	composeProject     = "messengere2e"               // keeps clear of a stack started by hand
	composeLB          = "http://127.0.0.1:3000"      // nginx, the only way in
	composeUpTimeout   = 12 * time.Minute             // images are local; three JVMs start on a busy machine
	composeWait        = 3 * time.Minute              // a failover, a reconnect
	composePassword    = "redispass123"               // docker-compose.yaml's Redis password
)

// compose runs the compose command on the stack's files in the module root.
func compose(ctx context.Context, t *testing.T, args ...string) (string, error) {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	command := strings.Fields(os.Getenv(envComposeCommand))
	if len(command) == 0 {
		command = []string{"docker-compose"}
	}
	full := append(command[1:], "-p", composeProject, "-f", "docker-compose.yaml")
	if override := composeOverride(); override != "" {
		full = append(full, "-f", override)
	}
	cmd := exec.CommandContext(ctx, command[0], append(full, args...)...)
	cmd.Dir = root
	cmd.WaitDelay = 10 * time.Second
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %w\n%s", command[0], strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// composeOverride is the file laid over docker-compose.yaml, if any.
func composeOverride() string {
	switch o := os.Getenv(envComposeOverride); o {
	case "none":
		return ""
	case "":
		return "deploy/compose.local-images.yaml"
	default:
		return o
	}
}

// eventually calls f every second until it returns nil or d has passed.
func eventually(t *testing.T, d time.Duration, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s: %v", what, d, err)
		}
		time.Sleep(time.Second)
	}
}

// TestComposeStackEndToEnd brings docker-compose.yaml's stack up (two server
// replicas behind nginx, Redis with three Sentinels, three Kafka brokers,
// PostgreSQL) and drives it only through nginx on 127.0.0.1:3000: two users
// whose sockets are on different replicas talk; the Redis master's container
// is stopped and the Sentinels promote the replica; the replica holding the
// receiver's socket is stopped and the receiver resumes on the other one.
// Every message answered 202 is stored once, in sequence order, and reaches
// the receiver. The stack is torn down at the end.
func TestComposeStackEndToEnd(t *testing.T) {
	if os.Getenv(envCompose) != "1" {
		t.Skipf("brings up the compose stack: run with %s=1 and a Docker API (make test's container step does)", envCompose)
	}
	ctx := context.Background()
	_, file, _, _ := runtime.Caller(0)
	cert := exec.Command("bash", filepath.Join(filepath.Dir(file), "..", "..", "scripts", "cert.sh"))
	out, err := cert.CombinedOutput()
	require.NoError(t, err, "scripts/cert.sh (nginx's TLS block needs deploy/certs): %s", out)

	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		if t.Failed() {
			logs, _ := compose(ctx, t, "logs", "--no-color", "--tail", "40")
			t.Logf("compose logs:\n%s", logs)
		}
		if _, err := compose(ctx, t, "down", "-v", "-t", "5"); err != nil {
			t.Errorf("tear down: %v", err)
		}
	})
	upCtx, cancel := context.WithTimeout(ctx, composeUpTimeout)
	defer cancel()
	started := time.Now()
	build := "--build" // the public base images: the server's image is built
	if composeOverride() != "" {
		build = "--no-build" // the override names images built beforehand
	}
	_, err = compose(upCtx, t, "up", "-d", build, "lb")
	require.NoError(t, err)

	// Ready means both replicas answer /readyz through nginx (round robin:
	// four in a row reach each at least once).
	eventually(t, composeWait, "both replicas ready behind nginx", func() error {
		for range 4 {
			resp, err := http.Get(composeLB + "/readyz")
			if err != nil {
				return err
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("/readyz: %s", resp.Status)
			}
		}
		return nil
	})
	t.Logf("stack up and ready through nginx in %.0fs", time.Since(started).Seconds())

	alice, bob := register(t, composeLB, "Alice"), register(t, composeLB, "Bob")
	befriend(t, alice, bob)

	// Sockets on different replicas: which one holds a user's sockets is in
	// the presence set, user_socket:{id}, on the Redis master.
	bob.connect(t, composeLB)
	bobNode := presenceNode(ctx, t, bob.id)
	for i := 0; ; i++ {
		alice.connect(t, composeLB)
		if presenceNode(ctx, t, alice.id) != bobNode {
			break
		}
		require.Less(t, i, 8, "nginx sends every socket to %s", bobNode)
		alice.disconnect(t)
		eventually(t, 30*time.Second, "alice's presence gone", func() error {
			if n := presenceNodes(ctx, t, alice.id); len(n) > 0 {
				return fmt.Errorf("still on %v", n)
			}
			return nil
		})
	}
	t.Logf("bob's socket on %s, alice's on the other replica", bobNode)

	acked := map[domain.MessageID]bool{}
	var conv domain.ConversationID
	send := func(phase string, n int) {
		t.Helper()
		for i := range n {
			id := fmt.Sprintf("%s-%d", phase, i)
			var r client.SendReceipt
			// A replica being stopped may drop a request: retried with the
			// same clientMessageId, it is stored once.
			eventually(t, composeWait, "send "+id, func() error {
				var err error
				r, err = alice.Send(ctx, client.SendRequest{ReceiverID: bob.id, Message: "text " + id, ClientMessageID: id})
				return err
			})
			require.Equal(t, "queued", r.Status)
			acked[r.MessageID] = true
			conv = r.ConversationID
		}
	}

	// 1. Across the replicas: every message reaches bob live, in order.
	send("live", 10)
	got := bob.messages(t, 10)
	require.Equal(t, seqRange(1, 10), sequences(got))
	last := got[len(got)-1].Sequence

	// 2. The Redis master's container stops; the Sentinels promote the replica.
	_, err = compose(ctx, t, "stop", "-t", "1", "redis-master")
	require.NoError(t, err)
	eventually(t, composeWait, "Sentinel failover to redis-replica", func() error {
		out, err := compose(ctx, t, "exec", "-T", "redis-sentinel-1", "redis-cli", "-p", "26379",
			"SENTINEL", "get-master-addr-by-name", "mymaster")
		if err != nil {
			return err
		}
		if !strings.Contains(out, "redis-replica") {
			return fmt.Errorf("master is %q", strings.TrimSpace(out))
		}
		return nil
	})
	send("failover", 10)

	// 3. The replica holding bob's socket stops; bob resumes on the other from
	// the last sequence he saw, and alice writes on.
	_, err = compose(ctx, t, "stop", "-t", "10", bobNode)
	require.NoError(t, err)
	send("replica-down", 10)
	for range bob.frames { // what bob's socket got before its replica went
	}
	eventually(t, composeWait, "bob resumes through nginx", func() error {
		conn, err := client.New(composeLB, nil).WithToken(bob.Token()).DialResume(ctx, map[domain.ConversationID]domain.Sequence{conv: last})
		if err != nil {
			return err
		}
		bob.read(t, conn)
		return nil
	})
	rest := bob.messages(t, 20)
	require.Equal(t, seqRange(last+1, 30), sequences(rest), "replayed, then live, in order and without a gap")

	// Stored once each, contiguous 1..30, exactly the acknowledged ones.
	history, _, err := bob.History(ctx, string(conv), domain.Page{After: 0, HasAfter: true, Limit: 200})
	require.NoError(t, err)
	require.Equal(t, seqRange(1, 30), sequences(history))
	stored := map[domain.MessageID]bool{}
	for _, m := range history {
		stored[m.ID] = true
	}
	require.Equal(t, acked, stored)
}

// presenceNodes are the nodes holding user's sockets, from the current Redis
// master (redis-master, or redis-replica after a failover).
func presenceNodes(ctx context.Context, t *testing.T, user domain.UserID) []string {
	t.Helper()
	out, err := compose(ctx, t, "exec", "-T", "redis-master", "redis-cli", "--no-auth-warning", "-a", composePassword,
		"ZRANGE", "user_socket:"+string(user), "0", "-1")
	require.NoError(t, err)
	nodes := strings.Fields(out)
	slices.Sort(nodes)
	return nodes
}

// presenceNode is the one replica holding user's socket.
func presenceNode(ctx context.Context, t *testing.T, user domain.UserID) string {
	t.Helper()
	var nodes []string
	eventually(t, 30*time.Second, "presence of "+string(user), func() error {
		nodes = presenceNodes(ctx, t, user)
		if len(nodes) != 1 {
			return fmt.Errorf("nodes %v", nodes)
		}
		return nil
	})
	require.Contains(t, []string{"server-1", "server-2"}, nodes[0])
	return nodes[0]
}

func seqRange(from, to domain.Sequence) []domain.Sequence {
	var out []domain.Sequence
	for s := from; s <= to; s++ {
		out = append(out, s)
	}
	return out
}
