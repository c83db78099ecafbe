package app

import (
	"context"
	"sync"
	"time"

	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
)

// userCacheMax bounds the entries of a knownUsers; past it the expired ones
// are dropped, and everything if none has expired.
const userCacheMax = 100_000

var (
	errUnknownUser   = domain.Errorf(domain.KindUnauthenticated, "the account of this token does not exist")
	errRevokedTokens = domain.Errorf(domain.KindUnauthenticated, "this token was revoked; log in again")
)

// knownUsers remembers for a while whether users exist, and from when their
// access tokens count (domain.User.TokensValidAfter), so that authenticating
// a request does not read the store every time. Both answers are kept: a
// deleted user's tokens are refused without a read either. Forget drops a
// user's entry at once, for a change made through this App or announced by
// another node (Config.AccountChanges); without announcements other nodes
// learn of a change when their entry expires.
type knownUsers struct {
	users ports.UserStore
	ttl   time.Duration // <= 0: nothing is cached
	now   func() time.Time

	mu sync.RWMutex
	// forgets counts Forget calls: an answer whose read started before the
	// last one is not stored, as it may predate the deletion.
	forgets uint64
	entries map[domain.UserID]knownUser
}

type knownUser struct {
	exists     bool
	validAfter time.Time // tokens issued before it are refused
	expires    time.Time
}

func newKnownUsers(users ports.UserStore, ttl time.Duration, now func() time.Time) *knownUsers {
	return &knownUsers{users: users, ttl: ttl, now: now, entries: map[domain.UserID]knownUser{}}
}

// check returns nil when user exists and a token issued at issued (zero:
// not known) still counts. Errors: KindUnauthenticated for an unknown user
// or a revoked token, KindUnavailable when the store cannot say and nothing
// is remembered (an expired answer is trusted while the store is down).
func (k *knownUsers) check(ctx context.Context, user domain.UserID, issued time.Time) error {
	now := k.now()
	k.mu.RLock()
	e, cached := k.entries[user]
	forgets := k.forgets
	k.mu.RUnlock()
	if cached && now.Before(e.expires) {
		return e.err(issued)
	}
	u, err := k.users.UserByID(ctx, user)
	switch kind := domain.KindOf(err); {
	case err == nil:
		e = knownUser{exists: true, validAfter: u.TokensValidAfter}
	case kind == domain.KindNotFound, kind == domain.KindInvalid:
		e = knownUser{exists: false}
	case cached && e.exists:
		return e.err(issued)
	default:
		return err
	}
	k.remember(user, e, forgets, now)
	return e.err(issued)
}

func (e knownUser) err(issued time.Time) error {
	switch {
	case !e.exists:
		return errUnknownUser
	case (domain.User{TokensValidAfter: e.validAfter}).IssuedBefore(issued):
		return errRevokedTokens
	}
	return nil
}

// remember stores e unless a Forget came after the read began.
func (k *knownUsers) remember(user domain.UserID, e knownUser, forgets uint64, now time.Time) {
	if k.ttl <= 0 {
		return
	}
	e.expires = now.Add(k.ttl)
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.forgets != forgets {
		return
	}
	if len(k.entries) >= userCacheMax {
		for id, old := range k.entries {
			if !now.Before(old.expires) {
				delete(k.entries, id)
			}
		}
		if len(k.entries) >= userCacheMax {
			clear(k.entries)
		}
	}
	k.entries[user] = e
}

// Forget drops what is remembered about user, so that its next request reads
// the store: for an account deleted, restored or whose tokens were revoked.
func (k *knownUsers) Forget(user domain.UserID) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.forgets++
	delete(k.entries, user)
}

// ForgetAll drops everything remembered: account changes may have been
// missed.
func (k *knownUsers) ForgetAll() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.forgets++
	clear(k.entries)
}
