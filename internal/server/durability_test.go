package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/internal/server"
	"github.com/messenger-go/messenger/testenv"
)

// asyncCommit is a connection setting that makes a commit return before it is
// on disk.
const asyncCommit = "&options=-c%20synchronous_commit%3Doff"

func TestProductionRefusesDatabaseThatCanLoseCommits(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, dsn string) string
	}{
		{"connection setting", func(t *testing.T, dsn string) string { return dsn + asyncCommit }},
		{"database setting", func(t *testing.T, dsn string) string {
			c, err := pgx.Connect(t.Context(), dsn)
			require.NoError(t, err)
			defer c.Close(context.Background())
			_, err = c.Exec(t.Context(), `DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET synchronous_commit = off', current_database()); END $$`)
			require.NoError(t, err)
			return dsn
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dsn := tc.setup(t, testenv.Postgres(t))
			env := map[string]string{
				"NODE_ENV":                       "production",
				"MESSENGER_DATABASE_URL":         dsn,
				"KAFKA_BROKERS":                  "127.0.0.1:1", // never reached
				"MESSENGER_REDIS_ADDR":           "127.0.0.1:1",
				"MESSENGER_JWT_PRIVATE_KEY_FILE": testKeyFile(t),
				"MESSENGER_ADDR":                 "127.0.0.1:0",
				"MESSENGER_METRICS_ADDR":         "off",
			}
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			err := server.Serve(ctx, func(k string) string { return env[k] }, io.Discard, func(server.Listening) {
				t.Error("the server started")
			})
			require.Error(t, err)
			assert.Contains(t, err.Error(), "synchronous_commit=off")
			assert.Contains(t, err.Error(), "refusing to start with NODE_ENV=production")
		})
	}
}

// Outside production the server starts, and /readyz stays ready but names
// what is unsafe; on a crash-safe database it says ok.
func TestReadyzWarnsOfDatabaseThatCanLoseCommits(t *testing.T) {
	dsn := testenv.Postgres(t)
	c, err := pgx.Connect(t.Context(), dsn)
	require.NoError(t, err)
	var fsync string
	require.NoError(t, c.QueryRow(t.Context(), `SELECT current_setting('fsync')`).Scan(&fsync))
	require.NoError(t, c.Close(t.Context()))

	readyz := func(t *testing.T, dsn string) string {
		t.Helper()
		base := startServer(t, map[string]string{"MESSENGER_DATABASE_URL": dsn})
		resp, err := http.Get(base + "/readyz")
		require.NoError(t, err)
		defer resp.Body.Close()
		assert.Equal(t, http.StatusOK, resp.StatusCode, "degraded, not down")
		var body struct{ Checks map[string]string }
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
		return body.Checks["postgres"]
	}

	got := readyz(t, dsn+asyncCommit)
	assert.Regexp(t, `^warning: not crash safe: .*synchronous_commit=off`, got)

	got = readyz(t, dsn)
	if fsync == "on" {
		assert.Equal(t, "ok", got)
	} else {
		assert.Equal(t, "warning: not crash safe: fsync=off; a crash can lose acknowledged messages", got)
	}
}
