package migrations_test

import (
	"context"
	"io/fs"
	"testing"

	"github.com/pressly/goose/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/migrations"
)

// TestLifecycleMigratesAPopulatedDatabase applies the first migration, fills
// the tables, then the rest: the rows keep their data and get the new
// columns' values, and the new rules hold for new writes.
func TestLifecycleMigratesAPopulatedDatabase(t *testing.T) {
	ctx := context.Background()
	db := open(t)
	sub, err := fs.Sub(migrations.FS, ".")
	require.NoError(t, err)
	p, err := goose.NewProvider(goose.DialectPostgres, db, sub, goose.WithDisableGlobalRegistry(true), goose.WithTableName(migrations.VersionTable))
	require.NoError(t, err)
	_, err = p.UpTo(ctx, 1)
	require.NoError(t, err)

	const (
		alice = "0b8a5f8e-1c2d-4e3f-8a9b-0c1d2e3f4a5b"
		bob   = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
		conv  = alice + "_" + bob
	)
	for _, q := range []string{
		`INSERT INTO users (id, first_name, last_name, email, password) VALUES
			('` + alice + `', 'Ada', 'Lovelace', 'ada@example.com', 'h'), ('` + bob + `', 'Charles', 'Babbage', 'charles@example.com', 'h')`,
		`INSERT INTO conversations (id, user_a, user_b, last_sequence) VALUES ('` + conv + `', '` + alice + `', '` + bob + `', 1)`,
		`INSERT INTO chats (sender_id, receiver_id, message, sequence_id, conversation_id, message_id, client_message_id, "timestamp", version)
			VALUES ('` + alice + `', '` + bob + `', 'hello', 1, '` + conv + `', gen_random_uuid(), 'c1', now(), 3)`,
	} {
		_, err := db.ExecContext(ctx, q)
		require.NoError(t, err)
	}

	require.NoError(t, migrations.Up(ctx, db))

	var (
		email            string
		editVersion      int64
		version          int64
		text             string
		deleted, changed bool
	)
	require.NoError(t, db.QueryRowContext(ctx, `SELECT email, deleted_at IS NOT NULL FROM users WHERE id = $1`, alice).Scan(&email, &deleted))
	assert.Equal(t, "ada@example.com", email)
	assert.False(t, deleted)
	require.NoError(t, db.QueryRowContext(ctx,
		`SELECT message, version, edit_version, edited_at IS NOT NULL OR change_offset IS NOT NULL FROM chats WHERE conversation_id = $1`, conv,
	).Scan(&text, &version, &editVersion, &changed))
	assert.Equal(t, "hello", text)
	assert.Equal(t, int64(3), version, "the row's revision count is kept")
	assert.Equal(t, int64(1), editVersion, "a message sent before the migration is at version 1")
	assert.False(t, changed)

	_, err = db.ExecContext(ctx, `UPDATE users SET email = NULL WHERE id = $1`, bob)
	assert.Error(t, err, "a live account keeps its email")
	_, err = db.ExecContext(ctx, `UPDATE users SET email = NULL, deleted_at = now() WHERE id = $1`, bob)
	assert.NoError(t, err, "a deleted one has none")
	_, err = db.ExecContext(ctx, `INSERT INTO users (id, first_name, last_name, email, password) VALUES (gen_random_uuid(), 'C', 'B', 'charles@example.com', 'h')`)
	assert.NoError(t, err, "the deleted account's email registers again")
}
