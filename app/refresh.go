package app

import (
	"context"
	"time"

	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
)

// Refresh rotates a refresh token and issues a new access token.
func (a *App) Refresh(ctx context.Context, refreshToken string) (ports.Tokens, error) {
	if refreshToken == "" {
		return ports.Tokens{}, domain.Errorf(domain.KindUnauthenticated, "invalid refresh token")
	}
	next, nextHash := newRefreshToken()
	now := a.now()
	user, err := a.cfg.RefreshTokens.RotateRefreshToken(ctx, hashRefreshToken(refreshToken), ports.RefreshToken{
		Hash:      nextHash,
		ExpiresAt: now.Add(a.cfg.RefreshTTL),
	}, now, a.cfg.RefreshReuseGrace)
	if err != nil {
		return ports.Tokens{}, err
	}
	access, ttl, err := a.cfg.Issuer.IssueAccessToken(ctx, user)
	if err != nil {
		return ports.Tokens{}, err
	}
	return ports.Tokens{AccessToken: access, RefreshToken: next, ExpiresIn: ttl}, nil
}

// Logout revokes the refresh token's family.
func (a *App) Logout(ctx context.Context, refreshToken string) error {
	if refreshToken == "" {
		return domain.Errorf(domain.KindInvalid, "refreshToken is required")
	}
	return a.cfg.RefreshTokens.RevokeRefreshToken(ctx, hashRefreshToken(refreshToken))
}

// Authenticate verifies an access token, that its user exists and that the
// token was not issued before the user's tokens were revoked (answers
// remembered for Config.Guards.UserCacheTTL, dropped at once on a change
// made here or announced through Config.AccountChanges). The issue time is
// known when the Verifier is a ports.IssueTimeVerifier.
func (a *App) Authenticate(ctx context.Context, accessToken string) (domain.UserID, time.Time, error) {
	if accessToken == "" {
		return "", time.Time{}, domain.Errorf(domain.KindUnauthenticated, "missing access token")
	}
	var (
		user            domain.UserID
		issued, expires time.Time
		err             error
	)
	if v, ok := a.cfg.Verifier.(ports.IssueTimeVerifier); ok {
		user, issued, expires, err = v.VerifyAccessTokenIssued(ctx, accessToken)
	} else {
		user, expires, err = a.cfg.Verifier.VerifyAccessToken(ctx, accessToken)
	}
	if err != nil {
		return "", time.Time{}, err
	}
	if err := a.known.check(ctx, user, issued); err != nil {
		return "", time.Time{}, err
	}
	return user, expires, nil
}
