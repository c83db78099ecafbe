package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/adapters/postgres"
	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
	"github.com/messenger-go/messenger/testenv"
)

func TestTranslate(t *testing.T) {
	pg := func(code string) error { return fmt.Errorf("query: %w", &pgconn.PgError{Code: code, Message: "m"}) }
	cases := []struct {
		name string
		err  error
		want domain.Kind
	}{
		{"no rows", pgx.ErrNoRows, domain.KindNotFound},
		{"unique violation", pg("23505"), domain.KindConflict},
		{"foreign key violation", pg("23503"), domain.KindNotFound},
		{"check violation", pg("23514"), domain.KindInvalid},
		{"invalid byte sequence", pg("22021"), domain.KindInvalid},
		{"string too long", pg("22001"), domain.KindTooLarge},
		{"deadlock", pg("40P01"), domain.KindUnavailable},
		{"serialization failure", pg("40001"), domain.KindUnavailable},
		{"admin shutdown", pg("57P01"), domain.KindUnavailable},
		{"statement timeout", pg("57014"), domain.KindUnavailable},
		{"too many connections", pg("53300"), domain.KindUnavailable},
		{"connection failure", pg("08006"), domain.KindUnavailable},
		{"syntax error", pg("42601"), domain.KindInternal},
		{"deadline", fmt.Errorf("x: %w", context.DeadlineExceeded), domain.KindUnavailable},
		{"cancel", context.Canceled, domain.KindUnavailable},
		{"connection lost", fmt.Errorf("read: %w", io.ErrUnexpectedEOF), domain.KindUnavailable},
		{"closed connection", pgconn.ErrConnClosed, domain.KindUnavailable},
		{"something else", errors.New("boom"), domain.KindInternal},
		{"domain error passes through", domain.Errorf(domain.KindForbidden, "no"), domain.KindForbidden},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := postgres.Translate(c.err, "op")
			require.Error(t, err)
			assert.Equal(t, c.want, domain.KindOf(err), "%v", err)
			assert.ErrorIs(t, err, c.err, "the cause is kept")
		})
	}
	assert.NoError(t, postgres.Translate(nil, "op"))
}

// A database that cannot be reached fails every call with KindUnavailable,
// fast, and stores nothing.
func TestUnreachableDatabaseIsUnavailable(t *testing.T) {
	const dsn = "postgres://nobody@127.0.0.1:1/none?sslmode=disable&connect_timeout=2"
	_, err := postgres.Open(t.Context(), dsn, postgres.Config{})
	require.Error(t, err)
	assert.Equal(t, domain.KindUnavailable, domain.KindOf(err), "Open: %v", err)

	pool, err := pgxpool.New(t.Context(), dsn) // connects lazily
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	s, err := postgres.New(t.Context(), pool, postgres.Config{})
	require.NoError(t, err)

	a, b := domain.NewUserID(), domain.NewUserID()
	conv, err := domain.NewConversationID(a, b)
	require.NoError(t, err)
	m, err := domain.NewMessage(domain.Draft{SenderID: a, ReceiverID: b, Text: "hi"}, epoch)
	require.NoError(t, err)
	calls := []struct {
		name string
		call func(ctx context.Context) error
	}{
		{"Ping", s.Ping},
		{"CreateUser", func(ctx context.Context) error {
			return s.CreateUser(ctx, domain.User{ID: a, FirstName: "A", LastName: "B", Email: "a@example.com", PasswordHash: "h"})
		}},
		{"UserByID", func(ctx context.Context) error { _, err := s.UserByID(ctx, a); return err }},
		{"SearchUsers", func(ctx context.Context) error { _, err := s.SearchUsers(ctx, "a", "", 5); return err }},
		{"UpdateFriendship", func(ctx context.Context) error {
			_, err := s.UpdateFriendship(ctx, a, b, func(f domain.Friendship) (domain.Friendship, error) { return f, nil })
			return err
		}},
		{"RotateRefreshToken", func(ctx context.Context) error {
			_, err := s.RotateRefreshToken(ctx, "h", ports.RefreshToken{Hash: "n", ExpiresAt: epoch}, epoch, 0)
			return err
		}},
		{"AppendBatch", func(ctx context.Context) error { _, err := s.AppendBatch(ctx, appends(0, 0, m)); return err }},
		{"History", func(ctx context.Context) error { _, _, err := s.History(ctx, conv, domain.Page{Limit: 5}); return err }},
		{"MarkRead", func(ctx context.Context) error { _, _, err := s.MarkRead(ctx, conv, a, 1, epoch); return err }},
		{"UnreadCounts", func(ctx context.Context) error { _, err := s.UnreadCounts(ctx, a); return err }},
		{"Conversations", func(ctx context.Context) error { _, err := s.Conversations(ctx, a, 5); return err }},
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			err := c.call(ctx)
			require.Error(t, err)
			assert.Equal(t, domain.KindUnavailable, domain.KindOf(err), "%v", err)
			assert.NoError(t, ctx.Err(), "fails before the deadline")
		})
	}
}

func TestOpenMigratesAndCloses(t *testing.T) {
	dsn := testenv.Postgres(t)
	for range 2 { // migrating a current database is a no-op
		s, err := postgres.Open(t.Context(), dsn, postgres.Config{Migrate: true})
		require.NoError(t, err)
		require.NoError(t, s.Ping(t.Context()))
		assert.Equal(t, int64(0), count(t, s, `SELECT count(*) FROM chats`))
		require.NoError(t, s.Close())
		require.NoError(t, s.Close(), "Close twice")
		assert.Error(t, s.Ping(t.Context()), "the pool Open made is closed")
	}

	pool, err := pgxpool.New(t.Context(), dsn)
	require.NoError(t, err)
	defer pool.Close()
	s, err := postgres.New(t.Context(), pool, postgres.Config{})
	require.NoError(t, err)
	require.NoError(t, s.Close())
	assert.NoError(t, pool.Ping(t.Context()), "a pool passed to New stays open")

	_, err = postgres.New(t.Context(), nil, postgres.Config{})
	assert.Equal(t, domain.KindInvalid, domain.KindOf(err))
	_, err = postgres.Open(t.Context(), "::not a dsn::", postgres.Config{})
	assert.Equal(t, domain.KindInvalid, domain.KindOf(err))
}
