package server_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/client"
	"github.com/messenger-go/messenger/internal/server"
)

// pgCluster is a durable, archiving PostgreSQL cluster of scripts/pgcluster.sh.
type pgCluster struct {
	data, port string
}

// script runs a script of the repository, failing the test with its output.
func script(t *testing.T, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command("bash", append([]string{repoFile("scripts", name)}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s %v:\n%s", name, args, out)
	return strings.TrimSpace(string(out))
}

func (c *pgCluster) url(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%s/%s?sslmode=disable", c.port, db)
}

func (c *pgCluster) connect(t *testing.T, db string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), c.url(db))
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// startCluster starts the cluster in data on port and stops it when the test
// ends.
func startCluster(t *testing.T, data, port string) *pgCluster {
	t.Helper()
	c := &pgCluster{data: data, port: port}
	script(t, nil, "pgcluster.sh", "start", data, c.port)
	t.Cleanup(func() { _ = exec.Command("bash", repoFile("scripts", "pgcluster.sh"), "stop", data).Run() })
	return c
}

// TestBackupUnderLoadRestoresToAPointInTime: a base backup taken with
// scripts/backup.sh while a real node stores messages, restored with
// scripts/restore.sh from the WAL archive to a point after the backup's end
// into a fresh cluster, holds every message answered 202 before the backup's
// end, once each, with every conversation's sequences contiguous from 1. With
// the consumer group moved back to what it holds (messenger restore-offsets),
// a node on it stores again what came later: every message answered 202 is
// there, still contiguous.
func TestBackupUnderLoadRestoresToAPointInTime(t *testing.T) {
	ctx := context.Background()
	work := script(t, nil, "pgcluster.sh", "workdir")
	t.Cleanup(func() { os.RemoveAll(work) })
	archive := filepath.Join(work, "archive")
	srcData, srcPort := filepath.Join(work, "source"), freePort(t)
	script(t, nil, "pgcluster.sh", "init", srcData, srcPort, archive)
	src := startCluster(t, srcData, srcPort)
	_, err := src.connect(t, "postgres").Exec(ctx, "CREATE DATABASE messenger")
	require.NoError(t, err)

	s := newStack(t)
	s.env["MESSENGER_DATABASE_URL"] = src.url("messenger")
	n := s.start(t, "node-1")
	alice, bob := register(t, n.base, "Alice"), register(t, n.base, "Bob")
	carol, dave := register(t, n.base, "Carol"), register(t, n.base, "Dave")
	befriend(t, alice, bob)
	befriend(t, carol, dave)

	// Load: both conversations, one send after the other, until stopped.
	var mu sync.Mutex
	answered := map[string]time.Time{} // clientMessageId -> when the 202 came
	stop := make(chan struct{})
	sendErr := make(chan error, 1)
	go func() {
		defer close(sendErr)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			from, to := alice, bob
			if i%2 == 1 {
				from, to = carol, dave
			}
			cid := fmt.Sprintf("load-%04d", i)
			if _, err := from.Send(ctx, client.SendRequest{ReceiverID: to.id, Message: cid, ClientMessageID: cid}); err != nil {
				sendErr <- err
				return
			}
			mu.Lock()
			answered[cid] = time.Now()
			mu.Unlock()
		}
	}()
	sent := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(answered)
	}
	waitUntil(t, "80 sends before the backup", func() bool { return sent() >= 80 })

	backup := filepath.Join(work, "backup")
	script(t, []string{"PGHOST=127.0.0.1", "PGPORT=" + src.port, "PGUSER=postgres"}, "pgcluster.sh", "as-postgres", "bash", repoFile("scripts", "backup.sh"), "base", backup)
	end := time.Now()
	atEnd := sent()
	waitUntil(t, "40 sends after the backup", func() bool { return sent() >= atEnd+40 })
	close(stop)
	require.NoError(t, <-sendErr)
	var before []string
	mu.Lock()
	for cid, at := range answered {
		if at.Before(end) {
			before = append(before, cid)
		}
	}
	mu.Unlock()
	require.Greater(t, len(before), 80, "the backup ran under load")

	// The target: once everything answered before the backup's end is stored
	// in the source. A commit after it and a segment switch put the WAL that
	// reaches it in the archive.
	db := src.connect(t, "messenger")
	waitUntil(t, "the messages answered before the backup's end stored", func() bool {
		var stored int
		require.NoError(t, db.QueryRow(ctx, "SELECT count(*) FROM chats WHERE client_message_id = ANY($1)", before).Scan(&stored))
		return stored == len(before)
	})
	var target string
	require.NoError(t, db.QueryRow(ctx, "SELECT now()::text").Scan(&target))
	_, err = db.Exec(ctx, "SELECT txid_current()")
	require.NoError(t, err)
	var segment string
	require.NoError(t, db.QueryRow(ctx, "SELECT pg_walfile_name(pg_switch_wal())").Scan(&segment))
	waitUntil(t, "segment "+segment+" archived", func() bool {
		var last *string
		require.NoError(t, db.QueryRow(ctx, "SELECT last_archived_wal FROM pg_stat_archiver").Scan(&last))
		return last != nil && *last >= segment
	})
	n.stop(t)

	restored := filepath.Join(work, "restored")
	script(t, nil, "pgcluster.sh", "as-postgres", "bash", repoFile("scripts", "restore.sh"), "prepare", backup, archive, restored, target)
	rc := startCluster(t, restored, freePort(t))
	rdb := rc.connect(t, "messenger")

	var present int
	require.NoError(t, rdb.QueryRow(ctx, "SELECT count(*) FROM chats WHERE client_message_id = ANY($1)", before).Scan(&present))
	assert.Equal(t, len(before), present, "every message answered 202 before the backup's end is in the restored database")

	assertContiguous(t, rdb, 2)

	// What the restore procedure tells the operator to reset the consumer to.
	offsets := script(t, []string{"PGHOST=127.0.0.1", "PGPORT=" + rc.port, "PGUSER=postgres", "PGDATABASE=messenger"}, "restore.sh", "offsets")
	assert.NotEmpty(t, offsets, "the restored database knows how far it consumed each partition")

	// Step 4 of the procedure: the consumer group goes back to what the
	// restored database holds, and a node started on it stores again what was
	// acknowledged after the target. Then nothing answered 202 is missing.
	s.env["MESSENGER_DATABASE_URL"] = rc.url("messenger")
	cmd := exec.Command(binary(t), "restore-offsets")
	cmd.Env = os.Environ()
	for k, v := range s.env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Len(t, strings.Split(strings.TrimSpace(string(out)), "\n"), 4, "one offset per partition of chat-messages:\n%s", out)
	s.start(t, "node-restored")
	var all []string
	mu.Lock()
	for cid := range answered {
		all = append(all, cid)
	}
	mu.Unlock()
	waitUntil(t, "every message answered 202 stored again in the restored database", func() bool {
		require.NoError(t, rdb.QueryRow(ctx, "SELECT count(*) FROM chats WHERE client_message_id = ANY($1)", all).Scan(&present))
		return present == len(all)
	})
	assertContiguous(t, rdb, 2)
}

// assertContiguous checks every conversation of db: sequences 1..n without a
// gap or a repeat, each message once, the counter at n.
func assertContiguous(t *testing.T, db *pgx.Conn, conversations int) {
	t.Helper()
	ctx := context.Background()
	rows, err := db.Query(ctx, `
		SELECT c.id, c.last_sequence, count(m.id), count(DISTINCT m.sequence_id), coalesce(min(m.sequence_id), 0), coalesce(max(m.sequence_id), 0),
		       count(DISTINCT (m.sender_id, m.client_message_id))
		FROM conversations c LEFT JOIN chats m ON m.conversation_id = c.id GROUP BY c.id, c.last_sequence`)
	require.NoError(t, err)
	convs := 0
	for rows.Next() {
		var id string
		var last, count, distinct, lo, hi, unique int64
		require.NoError(t, rows.Scan(&id, &last, &count, &distinct, &lo, &hi, &unique))
		convs++
		assert.Equal(t, int64(1), lo, "%s starts at sequence 1", id)
		assert.Equal(t, count, hi, "%s: sequences 1..n without a gap", id)
		assert.Equal(t, count, distinct, "%s: no sequence twice", id)
		assert.Equal(t, count, unique, "%s: no message stored twice", id)
		assert.Equal(t, hi, last, "%s: the sequence counter matches the rows", id)
	}
	require.NoError(t, rows.Err())
	assert.Equal(t, conversations, convs)
}

// waitUntil polls cond for up to two minutes.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within 2 minutes: %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestRestoreOffsetsNeedsTheDatabaseAndKafka(t *testing.T) {
	var out strings.Builder
	err := server.Run(context.Background(), []string{"restore-offsets", "-dry-run"}, env(map[string]string{"KAFKA_BROKERS": "127.0.0.1:1"}), &out, &out)
	require.ErrorContains(t, err, "needs the database")
	assert.Empty(t, out.String(), "nothing is printed or set")
}
