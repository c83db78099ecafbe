package postgres_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/adapters/postgres"
	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
)

// Two consumers that both believe they own a partition (a zombie and its
// successor) append the same batches at the same time: each message is stored
// once, every conversation stays contiguous, and both see the same sequences.
func TestAppendBatchZombieWorkers(t *testing.T) {
	s := newStore(t)
	us := createUsers(t, s, 8)
	const workers, batches, size = 3, 4, 120
	var all [][]ports.Append
	convs := map[domain.ConversationID]int{}
	for bi := range batches {
		var msgs []domain.Message
		for i := range size {
			from, to := us[(bi+i)%len(us)], us[(bi*3+i*5+1)%len(us)]
			if from.ID == to.ID {
				to = us[(i+3)%len(us)]
			}
			m := newMessage(t, from, to, fmt.Sprintf("b%d m%d", bi, i))
			msgs = append(msgs, m)
			convs[m.ConversationID]++
		}
		all = append(all, appends(0, int64(bi*size), msgs...))
	}

	results := make([][][]ports.Appended, workers)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, b := range all {
				out, err := s.AppendBatch(t.Context(), b)
				if err != nil {
					errs[w] = err
					return
				}
				results[w] = append(results[w], out)
			}
		}()
	}
	wg.Wait()
	for w, err := range errs {
		require.NoError(t, err, "worker %d", w)
	}

	assert.Equal(t, int64(batches*size), count(t, s, `SELECT count(*) FROM chats`), "each message stored once")
	for conv, n := range convs {
		assert.Equal(t, contiguous(n), storedSequences(t, s, conv), "conversation %s", conv)
	}
	for bi := range batches {
		for i := range size {
			fresh := 0
			for w := range workers {
				got := results[w][bi][i]
				if !got.Duplicate {
					fresh++
				}
				assert.Equal(t, results[0][bi][i].Message.Sequence, got.Message.Sequence, "batch %d message %d: worker %d sees the stored sequence", bi, i, w)
			}
			assert.Equal(t, 1, fresh, "batch %d message %d is new to exactly one worker", bi, i)
		}
	}
}

// Batches that touch the same conversations in opposite orders, all new at
// first, run concurrently without a deadlock (the store is told never to
// retry one): rows are locked in id order.
func TestAppendBatchConcurrentOverlappingBatches(t *testing.T) {
	s := newStoreWith(t, postgres.Config{TxRetries: -1})
	us := createUsers(t, s, 6)
	type pair struct{ a, b domain.User }
	var pairs []pair
	for i := range us {
		for j := i + 1; j < len(us); j++ {
			pairs = append(pairs, pair{us[i], us[j]})
		}
	}
	const workers, rounds = 4, 10
	errs := make(chan error, workers*rounds)
	var wg sync.WaitGroup
	for w := range workers {
		rng := rand.New(rand.NewPCG(uint64(w), 7))
		var batches [][]ports.Append
		for r := range rounds {
			order := rng.Perm(len(pairs))
			var msgs []domain.Message
			for _, k := range order {
				p := pairs[k]
				if rng.IntN(2) == 0 {
					p.a, p.b = p.b, p.a
				}
				msgs = append(msgs, newMessage(t, p.a, p.b, fmt.Sprintf("w%d r%d", w, r)))
			}
			batches = append(batches, appends(int32(w), int64(r*len(msgs)), msgs...))
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, b := range batches {
				if _, err := s.AppendBatch(t.Context(), b); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		assert.NoError(t, err)
	}
	for _, p := range pairs {
		assert.Equal(t, contiguous(workers*rounds), storedSequences(t, s, conversationOf(t, p.a, p.b)))
	}
}

// A conversation whose counter is behind its rows is repaired: the counter is
// advanced to the highest stored sequence and the message stored after it,
// instead of the partition stalling on the collision.
func TestAppendBatchRepairsACounterBehindItsRows(t *testing.T) {
	s := newStore(t)
	us := createUsers(t, s, 2)
	conv := conversationOf(t, us[0], us[1])
	_, err := s.AppendBatch(t.Context(), appends(0, 0, newMessage(t, us[0], us[1], "1"), newMessage(t, us[1], us[0], "2"), newMessage(t, us[0], us[1], "3")))
	require.NoError(t, err)

	// Roll the counter back, as a restored backup or a manual fix might.
	_, err = s.Pool().Exec(t.Context(), `UPDATE conversations SET last_sequence = 1 WHERE id = $1`, string(conv))
	require.NoError(t, err)

	next := newMessage(t, us[0], us[1], "would collide with 2")
	got, err := s.AppendBatch(t.Context(), appends(0, 3, next))
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Equal(t, domain.Sequence(4), got[0].Message.Sequence)
	assert.Equal(t, contiguous(4), storedSequences(t, s, conv), "stored after the others, once")
	assert.Equal(t, int64(4), count(t, s, `SELECT last_sequence FROM conversations WHERE id = $1`, string(conv)), "the counter was advanced")
}

func TestAppendBatchRecordsLogPosition(t *testing.T) {
	s := newStore(t)
	us := createUsers(t, s, 2)
	m := newMessage(t, us[0], us[1], "where")
	_, err := s.AppendBatch(t.Context(), []ports.Append{{Message: m, Position: ports.LogPosition{Partition: 7, Offset: 123456789012}}})
	require.NoError(t, err)
	var (
		partition string
		offset    int64
	)
	require.NoError(t, s.Pool().QueryRow(t.Context(), `SELECT kafka_partition, kafka_offset FROM chats WHERE message_id = $1`, string(m.ID)).Scan(&partition, &offset))
	assert.Equal(t, "7", partition)
	assert.Equal(t, int64(123456789012), offset)
}

func TestAppendBatchUnknownUserIsInvalid(t *testing.T) {
	s := newStore(t)
	us := createUsers(t, s, 1)
	ghost := domain.User{ID: domain.NewUserID()}
	m := newMessage(t, us[0], ghost, "to nobody")
	_, err := s.AppendBatch(t.Context(), appends(0, 0, m))
	require.Error(t, err)
	assert.Equal(t, domain.KindInvalid, domain.KindOf(err), "error %v", err)
	assert.Equal(t, int64(0), count(t, s, `SELECT count(*) FROM conversations`))
}

// The append transaction dies while it holds written rows: it is blocked on a
// member row that another session keeps locked when its connection is killed
// or its context ends. Nothing it wrote survives, and retrying the batch
// stores all of it once.
func TestAppendBatchInterruptedMidTransaction(t *testing.T) {
	cases := []struct {
		name      string
		interrupt func(t *testing.T, s *postgres.Store, pid int32, cancel context.CancelFunc)
	}{
		{"backend terminated", func(t *testing.T, s *postgres.Store, pid int32, _ context.CancelFunc) {
			var ok bool
			require.NoError(t, s.Pool().QueryRow(t.Context(), `SELECT pg_terminate_backend($1)`, pid).Scan(&ok))
			require.True(t, ok, "pg_terminate_backend")
		}},
		{"context cancelled", func(t *testing.T, _ *postgres.Store, _ int32, cancel context.CancelFunc) {
			cancel()
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			us := createUsers(t, s, 3)
			a, b, c := us[0], us[1], us[2]
			old := conversationOf(t, a, b)
			fresh := conversationOf(t, a, c)
			_, err := s.AppendBatch(t.Context(), appends(0, 0, newMessage(t, a, b, "before")))
			require.NoError(t, err)

			// Another session holds b's watermark row, as a slow MarkRead would.
			blocker, err := s.Pool().Acquire(t.Context())
			require.NoError(t, err)
			defer blocker.Release()
			tx, err := blocker.Begin(t.Context())
			require.NoError(t, err)
			defer func() { _ = tx.Rollback(context.Background()) }()
			_, err = tx.Exec(t.Context(), `SELECT 1 FROM conversation_members WHERE conversation_id = $1 AND user_id = $2 FOR UPDATE`, string(old), string(b.ID))
			require.NoError(t, err)

			batch := appends(0, 1, newMessage(t, a, c, "new conversation"), newMessage(t, a, b, "x"), newMessage(t, b, a, "y"), newMessage(t, a, b, "z"))
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			done := make(chan error, 1)
			go func() {
				_, err := s.AppendBatch(ctx, batch)
				done <- err
			}()

			pid := waitForBlockedAppend(t, s)
			tc.interrupt(t, s, pid, cancel)
			select {
			case err = <-done:
			case <-time.After(20 * time.Second):
				t.Fatal("AppendBatch did not return after the interruption")
			}
			require.Error(t, err)
			assert.Equal(t, domain.KindUnavailable, domain.KindOf(err), "error %v", err)

			// Nothing half-written: seen from the blocker's session, before it lets go.
			var chats, convs, last, unread int64
			require.NoError(t, tx.QueryRow(t.Context(), `SELECT
				(SELECT count(*) FROM chats),
				(SELECT count(*) FROM conversations),
				(SELECT last_sequence FROM conversations WHERE id = $1),
				(SELECT unread_count FROM conversation_members WHERE conversation_id = $1 AND user_id = $2)`,
				string(old), string(b.ID)).Scan(&chats, &convs, &last, &unread))
			assert.Equal(t, int64(1), chats, "no message of the batch is stored")
			assert.Equal(t, int64(1), convs, "the new conversation is not created")
			assert.Equal(t, int64(1), last, "the counter is unchanged")
			assert.Equal(t, int64(1), unread, "the unread count is unchanged")
			require.NoError(t, tx.Rollback(t.Context()))

			// Nothing lost: the retry stores the whole batch once.
			got, err := s.AppendBatch(t.Context(), batch)
			require.NoError(t, err)
			for i, r := range got {
				assert.False(t, r.Duplicate, "message %d was not stored before", i)
			}
			assert.Equal(t, []domain.Sequence{1, 2, 3, 4}, []domain.Sequence{got[0].Message.Sequence, got[1].Message.Sequence, got[2].Message.Sequence, got[3].Message.Sequence})
			assert.Equal(t, contiguous(4), storedSequences(t, s, old))
			assert.Equal(t, contiguous(1), storedSequences(t, s, fresh))
			counts, err := s.UnreadCounts(t.Context(), b.ID)
			require.NoError(t, err)
			assert.Equal(t, int64(3), counts.Total, "b received before, x and z")
		})
	}
}

// waitForBlockedAppend returns the pid of the backend whose append statement
// waits for a lock.
func waitForBlockedAppend(t *testing.T, s *postgres.Store) int32 {
	t.Helper()
	var pid int32
	require.Eventually(t, func() bool {
		err := s.Pool().QueryRow(t.Context(), `
			SELECT pid FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%INSERT INTO chats%'`).Scan(&pid)
		return err == nil
	}, 10*time.Second, 10*time.Millisecond, "the append never blocked on the member row")
	return pid
}

// A table that grows from a few rows to thousands between two analyses must
// not keep the append's lookup on a plan made for the few: that plan scans
// chats whole, once per batch. On one connection, ten small appends are
// enough for PostgreSQL to cache a generic plan; 20,000 rows are then copied
// in with autovacuum off for chats, so no analysis replans anything. The next
// append must not scan chats sequentially.
func TestAppendLookupFollowsTableGrowth(t *testing.T) {
	s := newStoreWith(t, postgres.Config{MaxConns: 1})
	us := createUsers(t, s, 2)
	_, err := s.Pool().Exec(t.Context(), `ALTER TABLE chats SET (autovacuum_enabled = false)`)
	require.NoError(t, err)
	for i := range 10 {
		_, err := s.AppendBatch(t.Context(), appends(0, int64(i), newMessage(t, us[0], us[1], "small")))
		require.NoError(t, err)
	}

	conv := conversationOf(t, us[0], us[1])
	const copied = 20000
	rows := make([][]any, copied)
	for i := range rows {
		m := newMessage(t, us[0], us[1], "copied")
		rows[i] = []any{string(m.ID), m.ClientMessageID, string(conv), string(us[0].ID), string(us[1].ID), m.Text, m.SentAt, int64(1000 + i)}
	}
	n, err := s.Pool().CopyFrom(t.Context(), pgx.Identifier{"chats"},
		[]string{"message_id", "client_message_id", "conversation_id", "sender_id", "receiver_id", "message", "timestamp", "sequence_id"},
		pgx.CopyFromRows(rows))
	require.NoError(t, err)
	require.EqualValues(t, copied, n)
	_, err = s.Pool().Exec(t.Context(), `UPDATE conversations SET last_sequence = $1 WHERE id = $2`, int64(1000+copied-1), string(conv))
	require.NoError(t, err)

	// The only connection flushes its statistics before each reading.
	seqScans := func() int64 {
		t.Helper()
		_, err := s.Pool().Exec(t.Context(), `SELECT pg_stat_force_next_flush()`)
		require.NoError(t, err)
		return count(t, s, `SELECT seq_scan FROM pg_stat_user_tables WHERE relname = 'chats'`)
	}
	before := seqScans()
	out, err := s.AppendBatch(t.Context(), appends(0, 100, newMessage(t, us[0], us[1], "after growth")))
	require.NoError(t, err)
	require.Len(t, out, 1)
	assert.EqualValues(t, 1000+copied, out[0].Message.Sequence)
	assert.Equal(t, before, seqScans(), "the append's lookup scanned chats whole")
}
