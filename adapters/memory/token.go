package memory

import (
	"context"
	"time"

	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
)

// storedToken is a refresh token and whether it was rotated already.
type storedToken struct {
	ports.RefreshToken
	rotatedAt time.Time // the first rotation; zero: not rotated
}

// sweepEvery is how many rotations pass between sweeps of expired tokens.
const sweepEvery = 4096

// CreateRefreshToken stores the first token of a family.
// Errors: KindConflict when the hash is already stored.
func (s *Store) CreateRefreshToken(ctx context.Context, t ports.RefreshToken) error {
	if err := live(ctx); err != nil {
		return err
	}
	s.tokensMu.Lock()
	defer s.tokensMu.Unlock()
	if _, ok := s.tokens[t.Hash]; ok {
		return domain.Errorf(domain.KindConflict, "refresh token already stored")
	}
	s.tokens[t.Hash] = &storedToken{RefreshToken: t}
	return nil
}

// RotateRefreshToken retires the token with oldHash and stores next in its
// family. Presenting a token rotated grace or longer ago revokes the family.
// Errors: KindUnauthenticated, KindConflict when next's hash is taken.
func (s *Store) RotateRefreshToken(ctx context.Context, oldHash string, next ports.RefreshToken, now time.Time, grace time.Duration) (domain.UserID, error) {
	if err := live(ctx); err != nil {
		return "", err
	}
	s.tokensMu.Lock()
	defer s.tokensMu.Unlock()
	s.rotations++
	if s.rotations >= sweepEvery {
		s.sweepTokens(now)
	}
	old, ok := s.tokens[oldHash]
	switch {
	case !ok:
		return "", domain.Errorf(domain.KindUnauthenticated, "unknown refresh token")
	case s.revoked[old.Family]:
		return "", domain.Errorf(domain.KindUnauthenticated, "refresh token revoked")
	case !old.rotatedAt.IsZero() && now.Sub(old.rotatedAt) >= grace:
		s.revoked[old.Family] = true
		return "", domain.Errorf(domain.KindUnauthenticated, "refresh token already used")
	case !now.Before(old.ExpiresAt):
		return "", domain.Errorf(domain.KindUnauthenticated, "refresh token expired")
	}
	if _, taken := s.tokens[next.Hash]; taken {
		return "", domain.Errorf(domain.KindConflict, "refresh token already stored")
	}
	if old.rotatedAt.IsZero() {
		old.rotatedAt = now
	}
	next.UserID, next.Family = old.UserID, old.Family
	s.tokens[next.Hash] = &storedToken{RefreshToken: next}
	return old.UserID, nil
}

// RevokeRefreshToken revokes the family of the token with hash. Idempotent; an
// unknown hash is not an error.
func (s *Store) RevokeRefreshToken(ctx context.Context, hash string) error {
	if err := live(ctx); err != nil {
		return err
	}
	s.tokensMu.Lock()
	defer s.tokensMu.Unlock()
	if t, ok := s.tokens[hash]; ok {
		s.revoked[t.Family] = true
	}
	return nil
}

// sweepTokens forgets tokens that expired before now, and the revocation of
// families left without tokens. An expired token is refused as unknown, which
// is as good as refusing it as reused.
func (s *Store) sweepTokens(now time.Time) {
	s.rotations = 0
	alive := map[string]bool{}
	for h, t := range s.tokens {
		if t.ExpiresAt.Before(now) {
			delete(s.tokens, h)
			continue
		}
		alive[t.Family] = true
	}
	for f := range s.revoked {
		if !alive[f] {
			delete(s.revoked, f)
		}
	}
}
