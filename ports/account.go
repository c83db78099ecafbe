package ports

import (
	"context"
	"time"

	"github.com/messenger-go/messenger/domain"
)

// AccountChanges tells every node of a cluster that an account's
// credentials changed (a password change, a log out everywhere) or that it
// was deleted, so that each forgets what it cached about the user and
// refuses the tokens that no longer count at once. Delivery is
// at-most-once: whenever changes may have been missed, the watchers' lost
// callback is called and they forget everything. Safe for concurrent use.
type AccountChanges interface {
	// AnnounceAccountChange tells the watchers of every node, this one's
	// included, that user's account changed. Errors: KindUnavailable.
	AnnounceAccountChange(ctx context.Context, user domain.UserID) error
	// WatchAccountChanges registers callbacks: changed for every announced
	// change, lost when changes may have been missed. Callbacks run on the
	// implementation's goroutine and must not block.
	WatchAccountChanges(changed func(user domain.UserID), lost func())
}

// IssueTimeVerifier is a TokenVerifier that also tells when a token was
// issued (its iat, in whole seconds), so that the tokens issued before a
// user's credentials changed can be refused. Callers type-assert a
// TokenVerifier to it; without it such tokens stay valid until they expire.
type IssueTimeVerifier interface {
	TokenVerifier
	// VerifyAccessTokenIssued is VerifyAccessToken returning the token's
	// issue time too. Errors: KindUnauthenticated.
	VerifyAccessTokenIssued(ctx context.Context, token string) (user domain.UserID, issued, expires time.Time, err error)
}
