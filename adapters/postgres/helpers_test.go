package postgres_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/adapters/postgres"
	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
)

// epoch is the send time base of the fixtures: whole seconds, kept exactly.
var epoch = time.Date(2031, time.May, 6, 7, 0, 0, 0, time.UTC)

// createUsers stores n users and returns them.
func createUsers(t testing.TB, s *postgres.Store, n int) []domain.User {
	t.Helper()
	us := make([]domain.User, n)
	for i := range us {
		id := domain.NewUserID()
		us[i] = domain.User{ID: id, FirstName: "First", LastName: fmt.Sprintf("Last%d", i), Email: "u" + string(id)[:13] + "@example.com", PasswordHash: "h", CreatedAt: epoch}
		require.NoError(t, s.CreateUser(t.Context(), us[i]))
	}
	return us
}

// newMessage builds a valid message from one user to another, with a unique
// clientMessageId.
func newMessage(t testing.TB, from, to domain.User, text string) domain.Message {
	t.Helper()
	m, err := domain.NewMessage(domain.Draft{SenderID: from.ID, ReceiverID: to.ID, Text: text, ClientMessageID: domain.NewUUID()}, epoch)
	require.NoError(t, err)
	return m
}

// appends wraps msgs with log positions starting at offset.
func appends(partition int32, offset int64, msgs ...domain.Message) []ports.Append {
	as := make([]ports.Append, len(msgs))
	for i, m := range msgs {
		as[i] = ports.Append{Message: m, Position: ports.LogPosition{Partition: partition, Offset: offset + int64(i)}}
	}
	return as
}

func conversationOf(t testing.TB, a, b domain.User) domain.ConversationID {
	t.Helper()
	c, err := domain.NewConversationID(a.ID, b.ID)
	require.NoError(t, err)
	return c
}

// storedSequences returns the sequences stored for conv, ascending, read
// directly from the table.
func storedSequences(t testing.TB, s *postgres.Store, conv domain.ConversationID) []int64 {
	t.Helper()
	rows, err := s.Pool().Query(t.Context(), `SELECT sequence_id FROM chats WHERE conversation_id = $1 ORDER BY sequence_id`, string(conv))
	require.NoError(t, err)
	var seqs []int64
	for rows.Next() {
		var n int64
		require.NoError(t, rows.Scan(&n))
		seqs = append(seqs, n)
	}
	require.NoError(t, rows.Err())
	return seqs
}

// contiguous returns 1..n.
func contiguous(n int) []int64 {
	var s []int64
	for i := 1; i <= n; i++ {
		s = append(s, int64(i))
	}
	return s
}

// count runs a count query.
func count(t testing.TB, s *postgres.Store, query string, args ...any) int64 {
	t.Helper()
	var n int64
	require.NoError(t, s.Pool().QueryRow(t.Context(), query, args...).Scan(&n))
	return n
}
