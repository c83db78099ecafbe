package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/messenger-go/messenger/domain"
)

// UpdateUser implements ports.UserStore. The user's row lock serialises
// concurrent updates.
func (s *Store) UpdateUser(ctx context.Context, id domain.UserID, fn func(domain.User) (domain.User, error)) (domain.User, error) {
	if _, err := domain.ParseUserID(string(id)); err != nil {
		return domain.User{}, err
	}
	var (
		stored domain.User
		fnErr  error
	)
	err := s.inTx(ctx, "update user", pgx.TxOptions{}, func(tx pgx.Tx) error {
		fnErr = nil
		cur, err := scanAccount(tx.QueryRow(ctx, `SELECT `+accountColumns+` FROM users u WHERE u.id = $1 AND u.deleted_at IS NULL FOR UPDATE`, string(id)))
		if err != nil {
			return err
		}
		next, err := fn(cur)
		if err != nil {
			fnErr = err
			return err
		}
		next.ID, next.Email = cur.ID, cur.Email
		if err := validateUser(next); err != nil {
			fnErr = err
			return err
		}
		stored, err = scanAccount(tx.QueryRow(ctx, `
			UPDATE users u SET first_name = $2, last_name = $3, password = $4, tokens_valid_after = $5, last_seen_at = $6
			WHERE u.id = $1
			RETURNING `+accountColumns,
			string(id), next.FirstName, next.LastName, next.PasswordHash, optionalTime(next.TokensValidAfter), next.LastSeenAt))
		return err
	})
	if fnErr != nil {
		return domain.User{}, fnErr
	}
	if err != nil {
		return domain.User{}, translate(err, "update user")
	}
	return stored, nil
}

// DeleteUser implements ports.UserStore in one transaction. It locks the
// user's row, then the user's conversations in id order (as appends do), so
// that no message is appended to them or read half erased meanwhile.
func (s *Store) DeleteUser(ctx context.Context, id domain.UserID, at time.Time) error {
	if _, err := domain.ParseUserID(string(id)); err != nil {
		return err
	}
	at = at.UTC().Truncate(time.Microsecond)
	err := s.inTx(ctx, "delete user", pgx.TxOptions{}, func(tx pgx.Tx) error {
		var one int
		if err := tx.QueryRow(ctx, `SELECT 1 FROM users WHERE id = $1 AND deleted_at IS NULL FOR UPDATE`, string(id)).Scan(&one); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT id FROM conversations WHERE user_a = $1 OR user_b = $1 ORDER BY id FOR NO KEY UPDATE`, string(id))
		if err != nil {
			return err
		}
		convs, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		steps := []struct {
			sql  string
			args []any
		}{
			{`UPDATE chats SET message = '', metadata = NULL, deleted_at = $2, deleted_by = $1, edit_version = edit_version + 1
				WHERE sender_id = $1 AND deleted_at IS NULL`, []any{string(id), at}},
			// A tombstone is never unread.
			{`UPDATE conversation_members m SET unread_count = (SELECT count(*) FROM chats ch
					WHERE ch.conversation_id = m.conversation_id AND ch.receiver_id = m.user_id
					AND ch.sequence_id > m.read_sequence AND ch.deleted_at IS NULL)
				WHERE m.conversation_id = ANY($2::text[]) AND m.user_id <> $1`, []any{string(id), convs}},
			{`DELETE FROM friends WHERE user_id = $1 OR friend_id = $1`, []any{string(id)}},
			{`DELETE FROM refresh_tokens WHERE user_id = $1`, []any{string(id)}},
			{`DELETE FROM devices WHERE user_id = $1`, []any{string(id)}},
			{`UPDATE users SET first_name = $2, last_name = $3, email = NULL, password = '',
					tokens_valid_after = $4, last_seen_at = NULL, deleted_at = $4
				WHERE id = $1`, []any{string(id), domain.DeletedUserFirstName, domain.DeletedUserLastName, at}},
		}
		for _, st := range steps {
			if _, err := tx.Exec(ctx, st.sql, st.args...); err != nil {
				return err
			}
		}
		return nil
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return domain.Errorf(domain.KindNotFound, "user not found")
	}
	return err
}

// Relations implements ports.FriendStore.
func (s *Store) Relations(ctx context.Context, user domain.UserID) ([]domain.Friendship, error) {
	if _, err := domain.ParseUserID(string(user)); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT `+friendshipColumns+` FROM friends f
		WHERE f.user_id = $1 OR f.friend_id = $1
		ORDER BY f.created_at, CASE WHEN f.user_id = $1 THEN f.friend_id ELSE f.user_id END`, string(user))
	if err != nil {
		return nil, translate(err, "relations")
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (domain.Friendship, error) {
		_, f, err := scanFriendship(r)
		return f, err
	})
	return out, translate(err, "relations")
}

// RevokeUserTokens implements ports.TokenStore.
func (s *Store) RevokeUserTokens(ctx context.Context, user domain.UserID) error {
	if _, err := domain.ParseUserID(string(user)); err != nil {
		return err
	}
	_, err := s.pool.Exec(ctx, `UPDATE refresh_tokens SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL`, string(user))
	return translate(err, "revoke user tokens")
}
