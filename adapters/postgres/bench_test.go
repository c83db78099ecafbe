package postgres_test

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/adapters/postgres"
	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
)

// BenchmarkAppendBatch measures AppendBatch in rows per second at several
// batch sizes, beside a plain COPY of rows of the same shape into the same
// table of the same database: the floor any insert path pays for the table's
// indexes and foreign keys. Each iteration runs one append and one COPY of the
// same size, timed apart, so that a noisy machine slows both alike. Batches
// spread over up to 50 conversations, as a partition's batch would.
//
// Metrics: append-rows/s, copy-rows/s and copy/append, the ratio of the two
// (2 means the append is half as fast as COPY).
//
//	go test -run '^$' -bench AppendBatch ./adapters/postgres/
func BenchmarkAppendBatch(b *testing.B) {
	s := newStore(b)
	users := benchUsers(b, s, 100)
	appendConvs := benchPairs(users, 0)
	copyConvs := benchPairs(users, 50)
	copySeq := createConversations(b, s, copyConvs)
	columns := []string{"message_id", "client_message_id", "conversation_id", "sender_id", "receiver_id", "message",
		"message_type", "timestamp", "sequence_id", "kafka_partition", "kafka_offset"}
	var offset int64

	for _, size := range []int{1, 10, 100, 1000} {
		b.Run(fmt.Sprintf("size=%d", size), func(b *testing.B) {
			appendBatches := make([][]ports.Append, b.N)
			copyBatches := make([][][]any, b.N)
			for i := range b.N {
				appendBatches[i] = appends(0, offset, benchMessages(b, appendConvs, size, i)...)
				offset += int64(size)
				for _, m := range benchMessages(b, copyConvs, size, i) {
					copySeq[m.ConversationID]++
					copyBatches[i] = append(copyBatches[i], []any{string(m.ID), m.ClientMessageID, string(m.ConversationID),
						string(m.SenderID), string(m.ReceiverID), m.Text, string(m.Type), m.SentAt, copySeq[m.ConversationID], "1", offset})
					offset++
				}
			}
			var appendTime, copyTime time.Duration
			b.ResetTimer()
			for i := range b.N {
				start := time.Now()
				if _, err := s.AppendBatch(b.Context(), appendBatches[i]); err != nil {
					b.Fatal(err)
				}
				appendTime += time.Since(start)

				start = time.Now()
				n, err := s.Pool().CopyFrom(b.Context(), pgx.Identifier{"chats"}, columns, pgx.CopyFromRows(copyBatches[i]))
				if err != nil {
					b.Fatal(err)
				}
				copyTime += time.Since(start)
				if n != int64(size) {
					b.Fatalf("copied %d rows, want %d", n, size)
				}
			}
			rows := float64(b.N * size)
			b.ReportMetric(rows/appendTime.Seconds(), "append-rows/s")
			b.ReportMetric(rows/copyTime.Seconds(), "copy-rows/s")
			b.ReportMetric(appendTime.Seconds()/copyTime.Seconds(), "copy/append")
		})
	}
}

// benchUsers stores n users in one statement.
func benchUsers(b *testing.B, s *postgres.Store, n int) []domain.User {
	b.Helper()
	us := make([]domain.User, n)
	ids := make([]string, n)
	for i := range us {
		us[i] = domain.User{ID: domain.NewUserID(), FirstName: "Bench", LastName: strconv.Itoa(i)}
		ids[i] = string(us[i].ID)
	}
	_, err := s.Pool().Exec(b.Context(), `
		INSERT INTO users (id, first_name, last_name, email, password)
		SELECT id, 'Bench', 'User', id::text || '@example.com', 'x' FROM unnest($1::uuid[]) AS id`, ids)
	require.NoError(b, err)
	return us
}

// benchPairs returns 50 distinct pairs of users, shifted by from.
func benchPairs(users []domain.User, from int) [][2]domain.User {
	var pairs [][2]domain.User
	for i := range 50 {
		pairs = append(pairs, [2]domain.User{users[(from+i)%len(users)], users[(from+i+1+i%7)%len(users)]})
	}
	return pairs
}

// createConversations stores the conversation rows of pairs (as AppendBatch
// would on their first message) and returns a sequence counter for each.
func createConversations(b *testing.B, s *postgres.Store, pairs [][2]domain.User) map[domain.ConversationID]int64 {
	b.Helper()
	seq := map[domain.ConversationID]int64{}
	var first []ports.Append
	for i, p := range pairs {
		first = append(first, appends(9, int64(i), newMessage(b, p[0], p[1], "hello"))...)
	}
	_, err := s.AppendBatch(b.Context(), first)
	require.NoError(b, err)
	for _, p := range pairs {
		seq[conversationOf(b, p[0], p[1])] = 1
	}
	return seq
}

// benchMessages builds n messages spread round-robin over pairs.
func benchMessages(b testing.TB, pairs [][2]domain.User, n, batch int) []domain.Message {
	b.Helper()
	msgs := make([]domain.Message, n)
	at := epoch.Add(time.Duration(batch) * time.Millisecond)
	for i := range msgs {
		p := pairs[(batch+i)%len(pairs)]
		from, to := p[0], p[1]
		if i%2 == 1 {
			from, to = to, from
		}
		m, err := domain.NewMessage(domain.Draft{SenderID: from.ID, ReceiverID: to.ID, Text: "benchmark message with a realistic length of text, about eighty bytes long", ClientMessageID: domain.NewUUID()}, at)
		require.NoError(b, err)
		msgs[i] = m
	}
	return msgs
}
