package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
)

var _ ports.FriendStore = (*Store)(nil)

const friendshipColumns = `f.id, f.user_id, f.friend_id, f.status, f.blocked_by, f.created_at, f.updated_at`

// pairCondition selects the row of the unordered pair ($1, $2) through the
// unique_friend_pair index.
const pairCondition = `LEAST(f.user_id, f.friend_id) = LEAST($1::uuid, $2::uuid) AND GREATEST(f.user_id, f.friend_id) = GREATEST($1::uuid, $2::uuid)`

// Friendship implements ports.FriendStore.
func (s *Store) Friendship(ctx context.Context, a, b domain.UserID) (domain.Friendship, error) {
	if err := validatePair(a, b); err != nil {
		return domain.Friendship{}, err
	}
	_, f, err := scanFriendship(s.pool.QueryRow(ctx, `SELECT `+friendshipColumns+` FROM friends f WHERE `+pairCondition, string(a), string(b)))
	if errors.Is(err, pgx.ErrNoRows) {
		return domain.Friendship{}, nil
	}
	return f, translate(err, "friendship")
}

// UpdateFriendship implements ports.FriendStore. A transaction-scoped advisory
// lock on the pair serialises updates, including those that find no row yet.
func (s *Store) UpdateFriendship(ctx context.Context, a, b domain.UserID, fn func(domain.Friendship) (domain.Friendship, error)) (domain.Friendship, error) {
	if err := validatePair(a, b); err != nil {
		return domain.Friendship{}, err
	}
	lo, hi := a, b
	if hi < lo {
		lo, hi = hi, lo
	}
	var (
		stored domain.Friendship
		fnErr  error
	)
	err := s.inTx(ctx, "update friendship", pgx.TxOptions{}, func(tx pgx.Tx) error {
		fnErr = nil
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('friends:' || $1::text, 0))`, string(lo)+"_"+string(hi)); err != nil {
			return err
		}
		rowID, cur, err := scanFriendship(tx.QueryRow(ctx, `SELECT `+friendshipColumns+` FROM friends f WHERE `+pairCondition+` FOR UPDATE`, string(a), string(b)))
		exists := err == nil
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		next, err := fn(cur)
		if err != nil {
			fnErr = err
			return err
		}
		if next.Status == domain.FriendNone {
			if exists {
				if _, err := tx.Exec(ctx, `DELETE FROM friends WHERE id = $1`, rowID); err != nil {
					return err
				}
			}
			stored = next
			return nil
		}
		if err := validateFriendship(next, lo, hi); err != nil {
			return err
		}
		blockedBy := any(nil)
		if next.BlockedBy != "" {
			blockedBy = string(next.BlockedBy)
		}
		var row pgx.Row
		if exists {
			row = tx.QueryRow(ctx, `
				UPDATE friends f SET user_id = $2, friend_id = $3, status = $4, blocked_by = $5,
					created_at = COALESCE($6, f.created_at), updated_at = COALESCE($7, now())
				WHERE f.id = $1
				RETURNING `+friendshipColumns,
				rowID, string(next.UserID), string(next.FriendID), string(next.Status), blockedBy,
				optionalTime(next.CreatedAt), optionalTime(next.UpdatedAt))
		} else {
			row = tx.QueryRow(ctx, `
				INSERT INTO friends AS f (user_id, friend_id, status, blocked_by, created_at, updated_at)
				VALUES ($1, $2, $3, $4, COALESCE($5, now()), COALESCE($6, now()))
				RETURNING `+friendshipColumns,
				string(next.UserID), string(next.FriendID), string(next.Status), blockedBy,
				optionalTime(next.CreatedAt), optionalTime(next.UpdatedAt))
		}
		_, stored, err = scanFriendship(row)
		return err
	})
	if fnErr != nil {
		return domain.Friendship{}, fnErr
	}
	if err != nil {
		return domain.Friendship{}, err
	}
	return stored, nil
}

// PendingRequests implements ports.FriendStore.
func (s *Store) PendingRequests(ctx context.Context, user domain.UserID) ([]domain.FriendRequest, error) {
	if _, err := domain.ParseUserID(string(user)); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `
		SELECT `+userColumns+`, f.created_at
		FROM friends f JOIN users u ON u.id = f.user_id
		WHERE f.friend_id = $1 AND f.status = 'pending'
		ORDER BY f.created_at, f.id`, string(user))
	if err != nil {
		return nil, translate(err, "pending requests")
	}
	reqs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (domain.FriendRequest, error) {
		var (
			fr domain.FriendRequest
			id string
		)
		err := r.Scan(&id, &fr.User.FirstName, &fr.User.LastName, &fr.User.Email, &fr.User.PasswordHash, &fr.User.CreatedAt, &fr.CreatedAt)
		fr.User.ID = domain.UserID(id)
		fr.User.CreatedAt, fr.CreatedAt = utc(fr.User.CreatedAt), utc(fr.CreatedAt)
		return fr, err
	})
	return reqs, translate(err, "pending requests")
}

// Friends implements ports.FriendStore.
func (s *Store) Friends(ctx context.Context, user domain.UserID) ([]domain.User, error) {
	if _, err := domain.ParseUserID(string(user)); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `
		SELECT `+accountColumns+`
		FROM friends f JOIN users u ON u.id = CASE WHEN f.user_id = $1 THEN f.friend_id ELSE f.user_id END
		WHERE (f.user_id = $1 OR f.friend_id = $1) AND f.status = 'accepted'
		ORDER BY u.first_name COLLATE "C", u.last_name COLLATE "C", u.id`, string(user))
	if err != nil {
		return nil, translate(err, "friends")
	}
	users, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (domain.User, error) { return scanAccount(r) })
	return users, translate(err, "friends")
}

func validatePair(a, b domain.UserID) error {
	if _, err := domain.ParseUserID(string(a)); err != nil {
		return err
	}
	if _, err := domain.ParseUserID(string(b)); err != nil {
		return err
	}
	if a == b {
		return domain.Errorf(domain.KindInvalid, "a friendship needs two different users")
	}
	return nil
}

// validateFriendship checks that f, returned by an update function, is a
// relation of the pair (lo, hi) that the schema can hold.
func validateFriendship(f domain.Friendship, lo, hi domain.UserID) error {
	if !(f.UserID == lo && f.FriendID == hi || f.UserID == hi && f.FriendID == lo) {
		return domain.Errorf(domain.KindInternal, "friendship update changed the pair")
	}
	switch f.Status {
	case domain.FriendPending, domain.FriendAccepted:
		if f.BlockedBy != "" {
			return domain.Errorf(domain.KindInternal, "friendship has a blocker but is not blocked")
		}
	case domain.FriendBlocked:
		if f.BlockedBy != lo && f.BlockedBy != hi {
			return domain.Errorf(domain.KindInternal, "blocked friendship without a blocker of the pair")
		}
	default:
		return domain.Errorf(domain.KindInternal, "unknown friendship status %q", f.Status)
	}
	return nil
}

func scanFriendship(row pgx.Row) (int64, domain.Friendship, error) {
	var (
		id           int64
		f            domain.Friendship
		user, friend string
		status       string
		blockedBy    *string
	)
	if err := row.Scan(&id, &user, &friend, &status, &blockedBy, &f.CreatedAt, &f.UpdatedAt); err != nil {
		return 0, domain.Friendship{}, err
	}
	f.UserID, f.FriendID, f.Status = domain.UserID(user), domain.UserID(friend), domain.FriendshipStatus(status)
	if blockedBy != nil {
		f.BlockedBy = domain.UserID(*blockedBy)
	}
	f.CreatedAt, f.UpdatedAt = utc(f.CreatedAt), utc(f.UpdatedAt)
	return id, f, nil
}
