package memory

import (
	"context"
	"slices"

	"github.com/messenger-go/messenger/domain"
)

// pair names two users in id order.
type pair struct{ lo, hi domain.UserID }

func pairOf(a, b domain.UserID) pair {
	if b < a {
		a, b = b, a
	}
	return pair{a, b}
}

// Friendship returns the relation of a and b in either order; the zero value
// when there is none.
func (s *Store) Friendship(ctx context.Context, a, b domain.UserID) (domain.Friendship, error) {
	if err := live(ctx); err != nil {
		return domain.Friendship{}, err
	}
	s.friendsMu.RLock()
	defer s.friendsMu.RUnlock()
	return s.friendships[pairOf(a, b)], nil
}

// UpdateFriendship passes the relation of a and b to fn and stores the result,
// deleting the relation when the result has Status FriendNone. fn runs under
// the store's friendship lock, exactly once: it must not call the store. An
// error from fn is returned as is.
func (s *Store) UpdateFriendship(ctx context.Context, a, b domain.UserID, fn func(domain.Friendship) (domain.Friendship, error)) (domain.Friendship, error) {
	if err := live(ctx); err != nil {
		return domain.Friendship{}, err
	}
	key := pairOf(a, b)
	s.friendsMu.Lock()
	defer s.friendsMu.Unlock()
	next, err := fn(s.friendships[key])
	if err != nil {
		return domain.Friendship{}, err
	}
	if next.Status == domain.FriendNone {
		delete(s.friendships, key)
		for _, u := range []domain.UserID{key.lo, key.hi} {
			delete(s.friendsOf[u], key)
			if len(s.friendsOf[u]) == 0 {
				delete(s.friendsOf, u)
			}
		}
		return next, nil
	}
	if pairOf(next.UserID, next.FriendID) != key {
		return domain.Friendship{}, domain.Errorf(domain.KindInternal, "friendship update changed the pair")
	}
	s.friendships[key] = next
	for _, u := range []domain.UserID{key.lo, key.hi} {
		if s.friendsOf[u] == nil {
			s.friendsOf[u] = map[pair]struct{}{}
		}
		s.friendsOf[u][key] = struct{}{}
	}
	return next, nil
}

// PendingRequests returns the pending requests addressed to user, oldest first.
func (s *Store) PendingRequests(ctx context.Context, user domain.UserID) ([]domain.FriendRequest, error) {
	if err := live(ctx); err != nil {
		return nil, err
	}
	var reqs []domain.Friendship
	s.friendsMu.RLock()
	for key := range s.friendsOf[user] {
		if f := s.friendships[key]; f.Status == domain.FriendPending && f.FriendID == user {
			reqs = append(reqs, f)
		}
	}
	s.friendsMu.RUnlock()
	slices.SortFunc(reqs, func(a, b domain.Friendship) int {
		if n := a.CreatedAt.Compare(b.CreatedAt); n != 0 {
			return n
		}
		return compareIDs(a.UserID, b.UserID)
	})
	ids := make([]domain.UserID, len(reqs))
	for i, f := range reqs {
		ids[i] = f.UserID
	}
	out := make([]domain.FriendRequest, len(reqs))
	for i, u := range s.usersByID(ids) {
		out[i] = domain.FriendRequest{User: u, CreatedAt: reqs[i].CreatedAt}
	}
	return out, nil
}

// Friends returns the users with an accepted relation to user, ordered by name
// then id.
func (s *Store) Friends(ctx context.Context, user domain.UserID) ([]domain.User, error) {
	if err := live(ctx); err != nil {
		return nil, err
	}
	var ids []domain.UserID
	s.friendsMu.RLock()
	for key := range s.friendsOf[user] {
		if f := s.friendships[key]; f.Status == domain.FriendAccepted {
			ids = append(ids, f.Other(user))
		}
	}
	s.friendsMu.RUnlock()
	friends := s.usersByID(ids)
	slices.SortFunc(friends, compareByName)
	return friends, nil
}

func compareIDs(a, b domain.UserID) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
