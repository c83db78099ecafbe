package migrations_test

import (
	"context"
	"database/sql"
	"sort"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/migrations"
	"github.com/messenger-go/messenger/testenv"
)

func open(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", testenv.Postgres(t))
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func names(t *testing.T, db *sql.DB, query string) []string {
	t.Helper()
	rows, err := db.Query(query)
	require.NoError(t, err)
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		require.NoError(t, rows.Scan(&s))
		out = append(out, s)
	}
	require.NoError(t, rows.Err())
	sort.Strings(out)
	return out
}

const (
	tablesQuery  = `SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'goose_db_version'`
	indexesQuery = `SELECT indexname FROM pg_indexes WHERE schemaname = 'public'`
	columnsQuery = `SELECT table_name || '.' || column_name FROM information_schema.columns WHERE table_schema = 'public'`
)

func TestUpCreatesTheGuideSchema(t *testing.T) {
	ctx := context.Background()
	db := open(t)
	require.NoError(t, migrations.Up(ctx, db))

	current, latest, err := migrations.Version(ctx, db)
	require.NoError(t, err)
	assert.Equal(t, latest, current)
	assert.Positive(t, latest)

	assert.Subset(t, names(t, db, tablesQuery), []string{
		"users", "chats", "friends", "conversations", "conversation_members", "refresh_tokens",
	})
	assert.Subset(t, names(t, db, indexesQuery), []string{
		"idx_conversation_sequence", "idx_unread_messages", "idx_chat_timeline", "idx_kafka_offset",
		"unique_conversation_message", "unique_sender_client_message", "unique_message_id",
		"users_email_key", "unique_friend_pair",
	})
	assert.Subset(t, names(t, db, columnsQuery), []string{
		"users.id", "users.first_name", "users.last_name", "users.email", "users.password", "users.created_at",
		"chats.id", "chats.sender_id", "chats.receiver_id", "chats.message", "chats.sequence_id",
		"chats.conversation_id", "chats.message_id", "chats.message_type", "chats.metadata", "chats.timestamp",
		"chats.delivered_at", "chats.read_at", "chats.seen", "chats.deleted_at", "chats.deleted_by",
		"chats.version", "chats.kafka_partition", "chats.kafka_offset",
		"friends.id", "friends.user_id", "friends.friend_id", "friends.status", "friends.created_at",
		"friends.updated_at", "friends.blocked_by",
	})
}

func TestUpIsIdempotentAndConcurrent(t *testing.T) {
	ctx := context.Background()
	db := open(t)
	errs := make(chan error, 3)
	for range 3 {
		go func() { errs <- migrations.Up(ctx, db) }()
	}
	for range 3 {
		require.NoError(t, <-errs)
	}
	require.NoError(t, migrations.Up(ctx, db))
	current, latest, err := migrations.Version(ctx, db)
	require.NoError(t, err)
	assert.Equal(t, latest, current)
}

func TestDownRemovesEverythingAndUpRestores(t *testing.T) {
	ctx := context.Background()
	db := open(t)
	require.NoError(t, migrations.Up(ctx, db))
	require.NoError(t, migrations.DownTo(ctx, db, 0))

	current, _, err := migrations.Version(ctx, db)
	require.NoError(t, err)
	assert.Zero(t, current)
	assert.Empty(t, names(t, db, tablesQuery))

	require.NoError(t, migrations.Up(ctx, db))
	assert.Contains(t, names(t, db, tablesQuery), "chats")
}

func TestUpFailsWithoutDatabase(t *testing.T) {
	db, err := sql.Open("pgx", "postgres://nobody@127.0.0.1:1/none?sslmode=disable&connect_timeout=2")
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	assert.Error(t, migrations.Up(context.Background(), db))
}
