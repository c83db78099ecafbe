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

var errUnknownUser = domain.Errorf(domain.KindUnauthenticated, "the account of this token does not exist")

// knownUsers remembers for a while whether users exist, so that
// authenticating a request does not read the store every time. Both answers
// are kept: a deleted user's tokens are refused without a read either.
// Forget drops a user's entry at once, for a deletion made through this App;
// other nodes learn of it when their entry expires.
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
	exists  bool
	expires time.Time
}

func newKnownUsers(users ports.UserStore, ttl time.Duration, now func() time.Time) *knownUsers {
	return &knownUsers{users: users, ttl: ttl, now: now, entries: map[domain.UserID]knownUser{}}
}

// check returns nil when user exists. Errors: KindUnauthenticated for an
// unknown user, KindUnavailable when the store cannot say and nothing is
// remembered (an expired "exists" is trusted while the store is down).
func (k *knownUsers) check(ctx context.Context, user domain.UserID) error {
	now := k.now()
	k.mu.RLock()
	e, cached := k.entries[user]
	forgets := k.forgets
	k.mu.RUnlock()
	if cached && now.Before(e.expires) {
		return e.err()
	}
	_, err := k.users.UserByID(ctx, user)
	switch kind := domain.KindOf(err); {
	case err == nil:
		e = knownUser{exists: true}
	case kind == domain.KindNotFound, kind == domain.KindInvalid:
		e = knownUser{exists: false}
	case cached && e.exists:
		return nil
	default:
		return err
	}
	k.remember(user, e, forgets, now)
	return e.err()
}

func (e knownUser) err() error {
	if !e.exists {
		return errUnknownUser
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
// the store: for an account deleted or restored through this App.
func (k *knownUsers) Forget(user domain.UserID) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.forgets++
	delete(k.entries, user)
}
