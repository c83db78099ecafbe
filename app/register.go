package app

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/netip"

	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
)

// Register creates an account and logs it in. Every valid attempt counts
// against the client's address, before the password is hashed.
func (a *App) Register(ctx context.Context, r domain.Registration, from netip.Addr) (ports.Session, error) {
	r, err := r.Validate()
	if err != nil {
		return ports.Session{}, err
	}
	if from.IsValid() {
		address := strike{key: "register:address:" + addressKey(from), policy: a.cfg.Guards.Registration}
		if err := a.throttled(ctx, "too many registrations from this address", address); err != nil {
			return ports.Session{}, err
		}
		a.record(ctx, address)
	}
	hash, err := a.cfg.Passwords.HashPassword(r.Password)
	if err != nil {
		return ports.Session{}, err
	}
	u := domain.User{
		ID:           domain.NewUserID(),
		FirstName:    r.FirstName,
		LastName:     r.LastName,
		Email:        r.Email,
		PasswordHash: hash,
		CreatedAt:    a.now().UTC(),
	}
	if err := a.cfg.Users.CreateUser(ctx, u); err != nil {
		if errors.Is(err, domain.ErrConflict) {
			return ports.Session{}, domain.Wrap(domain.KindConflict, err, "email already registered")
		}
		return ports.Session{}, err
	}
	return a.newSession(ctx, u)
}

// newSession issues an access token and the first refresh token of a new family.
func (a *App) newSession(ctx context.Context, u domain.User) (ports.Session, error) {
	refresh, hash := newRefreshToken()
	err := a.cfg.RefreshTokens.CreateRefreshToken(ctx, ports.RefreshToken{
		Hash:      hash,
		UserID:    u.ID,
		Family:    domain.NewUUID(),
		ExpiresAt: a.now().Add(a.cfg.RefreshTTL),
	})
	if err != nil {
		return ports.Session{}, err
	}
	access, ttl, err := a.cfg.Issuer.IssueAccessToken(ctx, u.ID)
	if err != nil {
		return ports.Session{}, err
	}
	return ports.Session{User: u, Tokens: ports.Tokens{AccessToken: access, RefreshToken: refresh, ExpiresIn: ttl}}, nil
}

// newRefreshToken returns an opaque random token and the hash under which it is stored.
func newRefreshToken() (token, hash string) {
	var b [32]byte
	_, _ = rand.Read(b[:])
	token = base64.RawURLEncoding.EncodeToString(b[:])
	return token, hashRefreshToken(token)
}

// hashRefreshToken is SHA-256: the token has 256 bits of entropy, so a slow
// password hash would add cost without adding safety.
func hashRefreshToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}
