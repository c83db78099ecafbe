package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
)

var _ ports.TokenStore = (*Store)(nil)

// maxTokenFieldBytes bounds a token hash and a family id.
const maxTokenFieldBytes = 256

// CreateRefreshToken implements ports.TokenStore.
func (s *Store) CreateRefreshToken(ctx context.Context, t ports.RefreshToken) error {
	if err := validateToken(t, true); err != nil {
		return err
	}
	_, err := s.pool.Exec(ctx,
		`INSERT INTO refresh_tokens (token_hash, user_id, family, expires_at) VALUES ($1, $2, $3, $4)`,
		t.Hash, string(t.UserID), t.Family, t.ExpiresAt)
	return translate(err, "create refresh token")
}

// RotateRefreshToken implements ports.TokenStore. The old token's row lock
// serialises concurrent rotations; the first marks it used, the others find it
// used and revoke the family.
func (s *Store) RotateRefreshToken(ctx context.Context, oldHash string, next ports.RefreshToken, now time.Time, grace time.Duration) (domain.UserID, error) {
	if err := domain.ValidateString("refresh token", oldHash, maxTokenFieldBytes); err != nil || oldHash == "" {
		return "", domain.Errorf(domain.KindUnauthenticated, "invalid refresh token")
	}
	if err := validateToken(next, false); err != nil {
		return "", err
	}
	var (
		user   domain.UserID
		reject string // why the old token is refused; set when the transaction commits a refusal
	)
	err := s.inTx(ctx, "rotate refresh token", pgx.TxOptions{}, func(tx pgx.Tx) error {
		reject = ""
		var (
			userID, family  string
			expiresAt       time.Time
			usedAt, revoked *time.Time
		)
		err := tx.QueryRow(ctx, `
			SELECT user_id, family, expires_at, used_at, revoked_at FROM refresh_tokens
			WHERE token_hash = $1 FOR UPDATE`, oldHash).Scan(&userID, &family, &expiresAt, &usedAt, &revoked)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			reject = "unknown refresh token"
			return nil
		case err != nil:
			return err
		case revoked != nil:
			reject = "refresh token revoked"
			return nil
		case usedAt != nil && now.Sub(*usedAt) < grace:
			// Another tab of the same login refreshed a moment ago: rotate
			// again below, keeping the first rotation's time.
		case usedAt != nil:
			// A rotated token came back: whoever holds it may have stolen it.
			reject = "refresh token already used"
			_, err := tx.Exec(ctx, `UPDATE refresh_tokens SET revoked_at = $2 WHERE family = $1 AND revoked_at IS NULL`, family, now)
			return err
		case !now.Before(expiresAt):
			reject = "refresh token expired"
			return nil
		}
		if usedAt == nil {
			if _, err := tx.Exec(ctx, `UPDATE refresh_tokens SET used_at = $2 WHERE token_hash = $1`, oldHash, now); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx,
			`INSERT INTO refresh_tokens (token_hash, user_id, family, expires_at, created_at) VALUES ($1, $2, $3, $4, $5)`,
			next.Hash, userID, family, next.ExpiresAt, now); err != nil {
			return err
		}
		user = domain.UserID(userID)
		return nil
	})
	if err != nil {
		return "", err
	}
	if reject != "" {
		return "", domain.Errorf(domain.KindUnauthenticated, "%s", reject)
	}
	return user, nil
}

// RevokeRefreshToken implements ports.TokenStore.
func (s *Store) RevokeRefreshToken(ctx context.Context, hash string) error {
	if err := domain.ValidateString("refresh token", hash, maxTokenFieldBytes); err != nil {
		return nil // no such token can be stored
	}
	_, err := s.pool.Exec(ctx, `
		UPDATE refresh_tokens SET revoked_at = now()
		WHERE family = (SELECT family FROM refresh_tokens WHERE token_hash = $1) AND revoked_at IS NULL`, hash)
	return translate(err, "revoke refresh token")
}

// validateToken checks the fields of a token to store; owner says whether its
// user and family must be set (they are not for a rotation's next token).
func validateToken(t ports.RefreshToken, owner bool) error {
	if t.Hash == "" {
		return domain.Errorf(domain.KindInvalid, "refresh token hash is empty")
	}
	if err := domain.ValidateString("refresh token hash", t.Hash, maxTokenFieldBytes); err != nil {
		return err
	}
	if t.ExpiresAt.IsZero() {
		return domain.Errorf(domain.KindInvalid, "refresh token has no expiry")
	}
	if !owner {
		return nil
	}
	if _, err := domain.ParseUserID(string(t.UserID)); err != nil {
		return err
	}
	if t.Family == "" {
		return domain.Errorf(domain.KindInvalid, "refresh token family is empty")
	}
	return domain.ValidateString("refresh token family", t.Family, maxTokenFieldBytes)
}
