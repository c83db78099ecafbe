package postgres_test

import (
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/adapters/postgres"
	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
	"github.com/messenger-go/messenger/testenv"
)

// The prefix search reads the lower(...) text_pattern_ops indexes, not the
// whole table: the index scan counters of all three move.
func TestSearchUsersUsesPrefixIndexes(t *testing.T) {
	dsn := testenv.Postgres(t)
	cfg, err := pgxpool.ParseConfig(dsn)
	require.NoError(t, err)
	cfg.MaxConns = 1 // one backend, so that its statistics can be flushed on demand
	pool, err := pgxpool.NewWithConfig(t.Context(), cfg)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	s, err := postgres.New(t.Context(), pool, postgres.Config{Migrate: true})
	require.NoError(t, err)

	_, err = pool.Exec(t.Context(), `
		INSERT INTO users (id, first_name, last_name, email, password)
		SELECT gen_random_uuid(), 'F' || md5(i::text), 'L' || md5(i::text), 'e' || md5(i::text) || '@example.com', 'x'
		FROM generate_series(1, 20000) AS i`)
	require.NoError(t, err)
	_, err = pool.Exec(t.Context(), `ANALYZE users`)
	require.NoError(t, err)

	indexes := []string{"users_email_key", "idx_users_first_name_prefix", "idx_users_last_name_prefix"}
	scans := func() map[string]int64 {
		t.Helper()
		_, err := pool.Exec(t.Context(), `SELECT pg_stat_force_next_flush()`)
		require.NoError(t, err)
		time.Sleep(10 * time.Millisecond)
		rows, err := pool.Query(t.Context(), `SELECT indexrelname, idx_scan FROM pg_stat_user_indexes WHERE relname = 'users'`)
		require.NoError(t, err)
		out := map[string]int64{}
		for rows.Next() {
			var (
				name string
				n    int64
			)
			require.NoError(t, rows.Scan(&name, &n))
			out[name] = n
		}
		require.NoError(t, rows.Err())
		return out
	}
	before := scans()
	for range 8 { // past the point where a cached generic plan would take over
		got, err := s.SearchUsers(t.Context(), "fab", "", 10)
		require.NoError(t, err)
		assert.NotEmpty(t, got)
	}
	require.Eventually(t, func() bool {
		after := scans()
		for _, ix := range indexes {
			if after[ix]-before[ix] < 8 {
				return false
			}
		}
		return true
	}, 5*time.Second, 100*time.Millisecond, "every search scans the three prefix indexes")
}

func TestSearchUsersTreatsWildcardsLiterally(t *testing.T) {
	s := newStore(t)
	mk := func(first string) domain.User {
		u := domain.User{ID: domain.NewUserID(), FirstName: first, LastName: "X", Email: domain.NewUUID() + "@example.com", PasswordHash: "h", CreatedAt: epoch}
		require.NoError(t, s.CreateUser(t.Context(), u))
		return u
	}
	pct, _ := mk(`Pct%name`), mk(`Pctxname`)
	under, _ := mk(`Und_score`), mk(`Undxscore`)
	back, _ := mk(`Back\slash`), mk(`Backxslash`)
	cases := []struct {
		prefix string
		want   domain.UserID
	}{
		{"pct%", pct.ID},
		{"und_", under.ID},
		{`back\`, back.ID},
	}
	for _, c := range cases {
		t.Run(c.prefix, func(t *testing.T) {
			got, err := s.SearchUsers(t.Context(), c.prefix, "", 10)
			require.NoError(t, err)
			require.Len(t, got, 1)
			assert.Equal(t, c.want, got[0].ID)
		})
	}
}

// Input PostgreSQL would reject or mangle never reaches it.
func TestRejectsWhatPostgresCannotStore(t *testing.T) {
	s := newStore(t)
	us := createUsers(t, s, 2)
	conv := conversationOf(t, us[0], us[1])
	valid := func() domain.User {
		return domain.User{ID: domain.NewUserID(), FirstName: "A", LastName: "B", Email: domain.NewUUID() + "@example.com", PasswordHash: "h"}
	}
	cases := []struct {
		name string
		kind domain.Kind
		call func() error
	}{
		{"user name with NUL", domain.KindInvalid, func() error { u := valid(); u.FirstName = "a\x00b"; return s.CreateUser(t.Context(), u) }},
		{"user email not UTF-8", domain.KindInvalid, func() error { u := valid(); u.Email = "\xffx@example.com"; return s.CreateUser(t.Context(), u) }},
		{"user without last name", domain.KindInvalid, func() error { u := valid(); u.LastName = ""; return s.CreateUser(t.Context(), u) }},
		{"user name too long", domain.KindTooLarge, func() error {
			u := valid()
			u.LastName = strings.Repeat("y", domain.MaxNameBytes+1)
			return s.CreateUser(t.Context(), u)
		}},
		{"user id not a UUID", domain.KindInvalid, func() error { u := valid(); u.ID = "nope"; return s.CreateUser(t.Context(), u) }},
		{"lookup of an email with NUL", domain.KindInvalid, func() error { _, err := s.UserByEmail(t.Context(), "a\x00@b.c"); return err }},
		{"search with NUL", domain.KindInvalid, func() error { _, err := s.SearchUsers(t.Context(), "a\x00", "", 5); return err }},
		{"history of a malformed conversation", domain.KindInvalid, func() error {
			_, _, err := s.History(t.Context(), "x_y", domain.Page{Limit: 5})
			return err
		}},
		{"history of a conversation in upper case", domain.KindInvalid, func() error {
			_, _, err := s.History(t.Context(), domain.ConversationID(strings.ToUpper(string(conv))), domain.Page{Limit: 5})
			return err
		}},
		{"mark read by a stranger", domain.KindForbidden, func() error {
			_, _, err := s.MarkRead(t.Context(), conv, domain.NewUserID(), 1, epoch)
			return err
		}},
		{"token hash with NUL", domain.KindInvalid, func() error {
			return s.CreateRefreshToken(t.Context(), ports.RefreshToken{Hash: "h\x00", UserID: us[0].ID, Family: "f", ExpiresAt: epoch.Add(time.Hour)})
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.call()
			require.Error(t, err)
			assert.Equal(t, c.kind, domain.KindOf(err), "error %v", err)
		})
	}
	assert.Equal(t, int64(2), count(t, s, `SELECT count(*) FROM users`), "no rejected user stored")
}
