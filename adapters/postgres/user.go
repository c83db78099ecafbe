package postgres

import (
	"context"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
)

var _ ports.UserStore = (*Store)(nil)

// maxPasswordHashBytes bounds the stored password hash (the users.password column).
const maxPasswordHashBytes = 512

// userColumns are the columns scanUser reads, in order. A deleted user has
// no email.
const userColumns = `u.id, u.first_name, u.last_name, COALESCE(u.email, ''), u.password, u.created_at`

// accountColumns are userColumns and what scanAccount reads besides.
const accountColumns = userColumns + `, u.tokens_valid_after, u.last_seen_at`

// CreateUser implements ports.UserStore.
func (s *Store) CreateUser(ctx context.Context, u domain.User) error {
	if err := validateUser(u); err != nil {
		return err
	}
	_, err := s.pool.Exec(ctx,
		`INSERT INTO users (id, first_name, last_name, email, password, created_at) VALUES ($1, $2, $3, $4, $5, COALESCE($6, now()))`,
		string(u.ID), u.FirstName, u.LastName, u.Email, u.PasswordHash, optionalTime(u.CreatedAt))
	if err != nil {
		return translate(err, "create user")
	}
	return nil
}

// UserByID implements ports.UserStore.
func (s *Store) UserByID(ctx context.Context, id domain.UserID) (domain.User, error) {
	if _, err := domain.ParseUserID(string(id)); err != nil {
		return domain.User{}, err
	}
	row := s.pool.QueryRow(ctx, `SELECT `+accountColumns+` FROM users u WHERE u.id = $1 AND u.deleted_at IS NULL`, string(id))
	u, err := scanAccount(row)
	return u, translate(err, "user")
}

// UserByEmail implements ports.UserStore.
func (s *Store) UserByEmail(ctx context.Context, email string) (domain.User, error) {
	if err := domain.ValidateString("email", email, domain.MaxEmailBytes); err != nil {
		return domain.User{}, err
	}
	row := s.pool.QueryRow(ctx, `SELECT `+accountColumns+` FROM users u WHERE lower(u.email) = lower($1)`, email)
	u, err := scanAccount(row)
	return u, translate(err, "user")
}

// customPlan runs a statement as an unnamed prepared statement, which
// PostgreSQL plans for the actual arguments on every execution, instead of a
// cached generic plan.
const customPlan = pgx.QueryExecModeCacheDescribe

// SearchUsers implements ports.UserStore. The name prefix tests are served by
// the indexes on lower(column) text_pattern_ops, the email by the unique one,
// and the relation to caller by the pair index; the statement is planned for
// its arguments every time, since a generic plan cannot use an index for LIKE
// with an unknown pattern.
func (s *Store) SearchUsers(ctx context.Context, query string, caller domain.UserID, limit int) ([]domain.User, error) {
	if err := domain.ValidateString("search query", query, domain.MaxEmailBytes); err != nil {
		return nil, err
	}
	if limit <= 0 {
		return nil, nil
	}
	callerID := any(nil)
	if caller != "" {
		if _, err := domain.ParseUserID(string(caller)); err != nil {
			return nil, err
		}
		callerID = string(caller)
	}
	rows, err := s.pool.Query(ctx, `
		SELECT u.id, u.first_name, u.last_name,
		       CASE WHEN f.status = 'accepted' THEN u.email ELSE '' END, '', u.created_at
		FROM users u
		LEFT JOIN friends f
		       ON LEAST(f.user_id, f.friend_id) = LEAST(u.id, $2::uuid)
		      AND GREATEST(f.user_id, f.friend_id) = GREATEST(u.id, $2::uuid)
		WHERE (lower(u.first_name) LIKE lower($1) || '%'
		    OR lower(u.last_name) LIKE lower($1) || '%'
		    OR lower(u.email) = lower($4))
		  AND u.id IS DISTINCT FROM $2::uuid
		  AND u.deleted_at IS NULL
		  AND f.blocked_by IS DISTINCT FROM u.id
		ORDER BY u.first_name COLLATE "C", u.last_name COLLATE "C", u.id
		LIMIT $3`,
		customPlan, escapeLike(query), callerID, limit, query)
	if err != nil {
		return nil, translate(err, "search users")
	}
	users, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (domain.User, error) { return scanUser(r) })
	return users, translate(err, "search users")
}

func validateUser(u domain.User) error {
	if _, err := domain.ParseUserID(string(u.ID)); err != nil {
		return err
	}
	fields := []struct {
		name, value string
		max         int
	}{
		{"firstName", u.FirstName, domain.MaxNameBytes},
		{"lastName", u.LastName, domain.MaxNameBytes},
		{"email", u.Email, domain.MaxEmailBytes},
		{"password hash", u.PasswordHash, maxPasswordHashBytes},
	}
	for _, f := range fields {
		if err := domain.ValidateString(f.name, f.value, f.max); err != nil {
			return err
		}
		if f.value == "" {
			return domain.Errorf(domain.KindInvalid, "%s is required", f.name)
		}
	}
	return nil
}

func scanUser(row pgx.Row) (domain.User, error) {
	var (
		u  domain.User
		id string
	)
	if err := row.Scan(&id, &u.FirstName, &u.LastName, &u.Email, &u.PasswordHash, &u.CreatedAt); err != nil {
		return domain.User{}, err
	}
	u.ID = domain.UserID(id)
	u.CreatedAt = u.CreatedAt.UTC()
	return u, nil
}

// scanAccount reads accountColumns.
func scanAccount(row pgx.Row) (domain.User, error) {
	var (
		u          domain.User
		id         string
		validAfter *time.Time
	)
	if err := row.Scan(&id, &u.FirstName, &u.LastName, &u.Email, &u.PasswordHash, &u.CreatedAt, &validAfter, &u.LastSeenAt); err != nil {
		return domain.User{}, err
	}
	u.ID = domain.UserID(id)
	u.CreatedAt = u.CreatedAt.UTC()
	if validAfter != nil {
		u.TokensValidAfter = validAfter.UTC()
	}
	if u.LastSeenAt != nil {
		at := u.LastSeenAt.UTC()
		u.LastSeenAt = &at
	}
	return u, nil
}

// escapeLike quotes the LIKE wildcards of s (with the default escape, '\').
func escapeLike(s string) string {
	return likeEscaper.Replace(s)
}

var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// utc returns t in UTC; timestamptz values come back in the local zone.
func utc(t time.Time) time.Time { return t.UTC() }

// optionalTime is t, or NULL for the zero time.
func optionalTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
