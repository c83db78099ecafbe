package memory

import (
	"context"
	"slices"
	"time"

	"github.com/messenger-go/messenger/domain"
)

// UpdateUser passes the user to fn under the users lock and stores its
// names, password hash, TokensValidAfter and LastSeenAt. fn must not call
// the store. Errors: KindNotFound, or fn's error as is.
func (s *Store) UpdateUser(ctx context.Context, id domain.UserID, fn func(domain.User) (domain.User, error)) (domain.User, error) {
	if err := live(ctx); err != nil {
		return domain.User{}, err
	}
	s.usersMu.Lock()
	defer s.usersMu.Unlock()
	u, ok := s.users[id]
	if !ok || s.deleted[id] {
		return domain.User{}, domain.Errorf(domain.KindNotFound, "user not found")
	}
	next, err := fn(u)
	if err != nil {
		return domain.User{}, err
	}
	u.FirstName, u.LastName, u.PasswordHash = next.FirstName, next.LastName, next.PasswordHash
	u.TokensValidAfter, u.LastSeenAt = next.TokensValidAfter.UTC(), nil
	if next.LastSeenAt != nil {
		at := next.LastSeenAt.UTC()
		u.LastSeenAt = &at
	}
	s.users[id] = u
	return u, nil
}

// DeleteUser erases the account under every lock of the store, taken in the
// store's order, so that no other call sees it half erased.
func (s *Store) DeleteUser(ctx context.Context, id domain.UserID, at time.Time) error {
	if err := live(ctx); err != nil {
		return err
	}
	at = at.UTC()
	s.friendsMu.Lock()
	defer s.friendsMu.Unlock()
	s.tokensMu.Lock()
	defer s.tokensMu.Unlock()
	s.msgMu.Lock()
	defer s.msgMu.Unlock()
	s.devicesMu.Lock()
	defer s.devicesMu.Unlock()
	s.usersMu.Lock()
	defer s.usersMu.Unlock()
	u, ok := s.users[id]
	if !ok || s.deleted[id] {
		return domain.Errorf(domain.KindNotFound, "user not found")
	}

	delete(s.emails, u.Email)
	s.users[id] = domain.DeletedUser(id)
	s.deleted[id] = true

	for key := range s.friendsOf[id] {
		delete(s.friendships, key)
		other := key.lo
		if other == id {
			other = key.hi
		}
		delete(s.friendsOf[other], key)
		if len(s.friendsOf[other]) == 0 {
			delete(s.friendsOf, other)
		}
	}
	delete(s.friendsOf, id)

	for hash, t := range s.tokens {
		if t.UserID == id {
			delete(s.tokens, hash)
		}
	}
	for key, d := range s.devices {
		if d.User == id {
			delete(s.devices, key)
		}
	}

	for _, c := range s.userConvs[id] {
		sender := c.member(id)
		for i := range c.msgs {
			if int(c.msgs[i].sender) == sender && !c.msgs[i].deletedAt.set {
				c.replace(i, c.message(i).Erased(id, at))
			}
		}
	}
	return nil
}

// Relations returns every relation of user, oldest first.
func (s *Store) Relations(ctx context.Context, user domain.UserID) ([]domain.Friendship, error) {
	if err := live(ctx); err != nil {
		return nil, err
	}
	s.friendsMu.RLock()
	out := make([]domain.Friendship, 0, len(s.friendsOf[user]))
	for key := range s.friendsOf[user] {
		out = append(out, s.friendships[key])
	}
	s.friendsMu.RUnlock()
	slices.SortFunc(out, func(a, b domain.Friendship) int {
		if n := a.CreatedAt.Compare(b.CreatedAt); n != 0 {
			return n
		}
		return compareIDs(a.Other(user), b.Other(user))
	})
	return out, nil
}

// RevokeUserTokens revokes the family of every refresh token of user.
func (s *Store) RevokeUserTokens(ctx context.Context, user domain.UserID) error {
	if err := live(ctx); err != nil {
		return err
	}
	s.tokensMu.Lock()
	defer s.tokensMu.Unlock()
	for _, t := range s.tokens {
		if t.UserID == user {
			s.revoked[t.Family] = true
		}
	}
	return nil
}
