package memory

import (
	"context"
	"slices"
	"strings"

	"github.com/messenger-go/messenger/domain"
)

// CreateUser stores u. Errors: KindConflict when the email or id is taken.
func (s *Store) CreateUser(ctx context.Context, u domain.User) error {
	if err := live(ctx); err != nil {
		return err
	}
	s.usersMu.Lock()
	defer s.usersMu.Unlock()
	if _, ok := s.users[u.ID]; ok {
		return domain.Errorf(domain.KindConflict, "user id already taken")
	}
	if _, ok := s.emails[u.Email]; ok {
		return domain.Errorf(domain.KindConflict, "email already registered")
	}
	s.users[u.ID] = u
	s.emails[u.Email] = u.ID
	return nil
}

// UserByID returns the user. Errors: KindNotFound.
func (s *Store) UserByID(ctx context.Context, id domain.UserID) (domain.User, error) {
	if err := live(ctx); err != nil {
		return domain.User{}, err
	}
	s.usersMu.RLock()
	defer s.usersMu.RUnlock()
	u, ok := s.users[id]
	if !ok || s.deleted[id] {
		return domain.User{}, domain.Errorf(domain.KindNotFound, "user not found")
	}
	return u, nil
}

// UserByEmail returns the user with that email. Errors: KindNotFound.
func (s *Store) UserByEmail(ctx context.Context, email string) (domain.User, error) {
	if err := live(ctx); err != nil {
		return domain.User{}, err
	}
	s.usersMu.RLock()
	defer s.usersMu.RUnlock()
	id, ok := s.emails[email]
	if !ok {
		return domain.User{}, domain.Errorf(domain.KindNotFound, "user not found")
	}
	return s.users[id], nil
}

// SearchUsers returns up to limit users as caller sees them in a search:
// first or last name starting with query, or email equal to query, ignoring
// case; never caller nor a user who blocked caller; the email only of
// caller's friends; ordered by name then id. It scans every user: search is
// rare next to messaging.
func (s *Store) SearchUsers(ctx context.Context, query string, caller domain.UserID, limit int) ([]domain.User, error) {
	if err := live(ctx); err != nil {
		return nil, err
	}
	if limit <= 0 {
		return nil, nil
	}
	p := strings.ToLower(query)
	s.usersMu.RLock()
	var found []domain.User
	for _, u := range s.users {
		if u.ID == caller || s.deleted[u.ID] {
			continue
		}
		if strings.HasPrefix(strings.ToLower(u.FirstName), p) ||
			strings.HasPrefix(strings.ToLower(u.LastName), p) ||
			strings.EqualFold(u.Email, query) {
			found = append(found, u)
		}
	}
	s.usersMu.RUnlock()

	s.friendsMu.RLock()
	kept := found[:0]
	for _, u := range found {
		f := s.friendships[pairOf(caller, u.ID)]
		if f.Status == domain.FriendBlocked && f.BlockedBy == u.ID {
			continue
		}
		if !f.AreFriends() {
			u.Email = ""
		}
		u.PasswordHash = ""
		kept = append(kept, u)
	}
	s.friendsMu.RUnlock()
	slices.SortFunc(kept, compareByName)
	if len(kept) > limit {
		kept = kept[:limit]
	}
	return kept, nil
}

// compareByName orders users by first name, last name (ignoring case first)
// and id.
func compareByName(a, b domain.User) int {
	for _, c := range [...][2]string{
		{strings.ToLower(a.FirstName), strings.ToLower(b.FirstName)},
		{strings.ToLower(a.LastName), strings.ToLower(b.LastName)},
		{a.FirstName, b.FirstName},
		{a.LastName, b.LastName},
		{string(a.ID), string(b.ID)},
	} {
		if n := strings.Compare(c[0], c[1]); n != 0 {
			return n
		}
	}
	return 0
}

// usersByID returns the users of ids, with only the id for an unknown one.
func (s *Store) usersByID(ids []domain.UserID) []domain.User {
	s.usersMu.RLock()
	defer s.usersMu.RUnlock()
	us := make([]domain.User, len(ids))
	for i, id := range ids {
		u, ok := s.users[id]
		if !ok {
			u = domain.User{ID: id}
		}
		us[i] = u
	}
	return us
}
