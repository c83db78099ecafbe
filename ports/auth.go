package ports

import (
	"context"
	"time"

	"github.com/messenger-go/messenger/domain"
)

// TokenIssuer signs access tokens. Safe for concurrent use.
type TokenIssuer interface {
	// IssueAccessToken returns a signed token naming user as its subject and its
	// lifetime.
	IssueAccessToken(ctx context.Context, user domain.UserID) (token string, ttl time.Duration, err error)
}

// TokenVerifier checks access tokens. Safe for concurrent use.
type TokenVerifier interface {
	// VerifyAccessToken checks signature, algorithm, issuer, audience, expiry and
	// subject and returns the subject and the time from which the token is no
	// longer accepted. Errors: KindUnauthenticated.
	VerifyAccessToken(ctx context.Context, token string) (user domain.UserID, expires time.Time, err error)
}

// KeySet publishes the public keys that verify access tokens.
type KeySet interface {
	// PublicJWKS returns the JSON Web Key Set document.
	PublicJWKS() ([]byte, error)
}

// PasswordHasher hashes and checks passwords. Safe for concurrent use.
type PasswordHasher interface {
	// HashPassword returns an encoded, salted hash of password.
	HashPassword(password string) (string, error)
	// VerifyPassword checks password against an encoded hash.
	// Errors: KindUnauthenticated on mismatch, KindInternal for a malformed hash.
	VerifyPassword(encoded, password string) error
}
