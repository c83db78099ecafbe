package postgres_test

import (
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/adapters/postgres"
	"github.com/messenger-go/messenger/testenv"
)

func TestDurabilityUnsafe(t *testing.T) {
	for _, tc := range []struct {
		name          string
		d             postgres.Durability
		unsafe, risky []string
	}{
		{"production settings", postgres.Durability{Fsync: "on", SynchronousCommit: "on", FullPageWrites: "on"}, nil, nil},
		{"local commit is durable here", postgres.Durability{Fsync: "on", SynchronousCommit: "local", FullPageWrites: "on"}, nil, nil},
		{"fsync off", postgres.Durability{Fsync: "off", SynchronousCommit: "on", FullPageWrites: "on"}, []string{"fsync=off"}, nil},
		{"asynchronous commit", postgres.Durability{Fsync: "on", SynchronousCommit: "off", FullPageWrites: "on"}, []string{"synchronous_commit=off"}, nil},
		{"all off", postgres.Durability{Fsync: "off", SynchronousCommit: "off", FullPageWrites: "off"},
			[]string{"fsync=off", "synchronous_commit=off"}, []string{"full_page_writes=off"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.unsafe, tc.d.Unsafe())
			assert.Equal(t, tc.risky, tc.d.Risky())
		})
	}
}

// The settings are read as the store's connections see them, so a database
// or connection setting that turns synchronous_commit off is caught.
func TestDurabilitySeesDatabaseAndConnectionSettings(t *testing.T) {
	dsn := testenv.Postgres(t)
	read := func(dsn string) postgres.Durability {
		t.Helper()
		s, err := postgres.Open(t.Context(), dsn, postgres.Config{})
		require.NoError(t, err)
		defer s.Close()
		d, err := s.Durability(t.Context())
		require.NoError(t, err)
		return d
	}
	base := read(dsn)
	assert.Contains(t, []string{"on", "off"}, base.Fsync)
	assert.NotEqual(t, "off", base.SynchronousCommit, "the server's own setting is on in both local modes")

	conn := read(dsn + "&options=-c%20synchronous_commit%3Doff")
	assert.Equal(t, "off", conn.SynchronousCommit)
	assert.Contains(t, conn.Unsafe(), "synchronous_commit=off")

	c, err := pgx.Connect(t.Context(), dsn)
	require.NoError(t, err)
	var db string
	require.NoError(t, c.QueryRow(t.Context(), `SELECT current_database()`).Scan(&db))
	_, err = c.Exec(t.Context(), `ALTER DATABASE `+pgx.Identifier{db}.Sanitize()+` SET synchronous_commit = off`)
	require.NoError(t, err)
	require.NoError(t, c.Close(t.Context()))
	assert.Contains(t, read(dsn).Unsafe(), "synchronous_commit=off", "a database setting")
}
