package portstest

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
)

// RunUserStore runs the contract of ports.UserStore against the stores that
// newStores returns: a user store and a friend store over the same data (a
// search depends on the relations of the caller). "Ordered by name then id"
// is checked as: first name, then last name, then id; the names used sort the
// same case-sensitively or not.
func RunUserStore(t *testing.T, newStores func(t *testing.T) (ports.UserStore, ports.FriendStore)) {
	newStore := func(t *testing.T) ports.UserStore {
		s, _ := newStores(t)
		return s
	}
	t.Run("CreateUser then UserByID and UserByEmail return it", func(t *testing.T) {
		s := newStore(t)
		u := domain.User{
			ID:           domain.NewUserID(),
			FirstName:    "Ada",
			LastName:     "Lovelace",
			Email:        "ada." + token(10) + "@example.com",
			PasswordHash: "$argon2id$v=19$m=65536,t=1,p=4$c2FsdA$aGFzaA",
			CreatedAt:    at(7),
		}
		require.NoError(t, s.CreateUser(t.Context(), u))

		byID, err := s.UserByID(t.Context(), u.ID)
		require.NoError(t, err)
		assertSameUser(t, u, byID)
		assert.Equal(t, u.PasswordHash, byID.PasswordHash)
		assertTime(t, u.CreatedAt, byID.CreatedAt, "CreatedAt")

		byEmail, err := s.UserByEmail(t.Context(), u.Email)
		require.NoError(t, err)
		assertSameUser(t, u, byEmail)
		assert.Equal(t, u.PasswordHash, byEmail.PasswordHash)
	})

	t.Run("CreateUser with a taken email is a conflict and keeps the first", func(t *testing.T) {
		s := newStore(t)
		first := createUser(t, s, userSpec{})
		second := domain.User{ID: domain.NewUserID(), FirstName: "Other", LastName: "Person", Email: first.Email, PasswordHash: "x", CreatedAt: at(1)}
		err := s.CreateUser(t.Context(), second)
		errorKind(t, domain.KindConflict, err)
		assert.True(t, errors.Is(err, domain.ErrConflict), "errors.Is(err, domain.ErrConflict)")

		got, err := s.UserByEmail(t.Context(), first.Email)
		require.NoError(t, err)
		assert.Equal(t, first.ID, got.ID)
		_, err = s.UserByID(t.Context(), second.ID)
		assert.True(t, errors.Is(err, domain.ErrNotFound), "the rejected user must not be stored, got %v", err)
	})

	t.Run("CreateUser with a taken id is a conflict", func(t *testing.T) {
		s := newStore(t)
		first := createUser(t, s, userSpec{})
		again := first
		again.Email = "other." + token(10) + "@example.com"
		errorKind(t, domain.KindConflict, s.CreateUser(t.Context(), again))
		got, err := s.UserByID(t.Context(), first.ID)
		require.NoError(t, err)
		assert.Equal(t, first.Email, got.Email)
	})

	t.Run("unknown users are not found", func(t *testing.T) {
		s := newStore(t)
		createUser(t, s, userSpec{})
		_, err := s.UserByID(t.Context(), domain.NewUserID())
		assert.True(t, errors.Is(err, domain.ErrNotFound), "UserByID: want not found, got %v", err)
		_, err = s.UserByEmail(t.Context(), "nobody."+token(10)+"@example.com")
		assert.True(t, errors.Is(err, domain.ErrNotFound), "UserByEmail: want not found, got %v", err)
	})

	t.Run("SearchUsers", func(t *testing.T) {
		s, friends := newStores(t)
		// tag is a prefix no other test's user has, so the store may be shared.
		// It starts with "a" so that names built from it sort before "Mm" and "Nn".
		tag := "a" + token(9)
		upper := strings.ToUpper(tag[:1]) + tag[1:]
		caller := createUser(t, s, userSpec{first: upper + "caller", last: "Zz" + token(6)})
		byFirstB := createUser(t, s, userSpec{first: upper + "b", last: "Bb" + token(6)})
		byFirstA := createUser(t, s, userSpec{first: upper + "a", last: "Aa" + token(6)})
		byLast := createUser(t, s, userSpec{first: "Mm" + token(6), last: upper + "last"})
		byEmail := createUser(t, s, userSpec{first: "Nn" + token(6), last: "Nn" + token(6), email: tag + ".mail@example.com"})
		twinA := createUser(t, s, userSpec{first: "Oo" + tag, last: "Twin", email: "twin1." + token(8) + "@example.com"})
		twinB := createUser(t, s, userSpec{first: "Oo" + tag, last: "Twin", email: "twin2." + token(8) + "@example.com"})
		createUser(t, s, userSpec{first: "Xx" + tag, last: "Yy" + tag}) // tag inside, not a prefix
		stranger := domain.NewUserID()

		twins := []domain.UserID{twinA.ID, twinB.ID}
		if twins[1] < twins[0] {
			twins[0], twins[1] = twins[1], twins[0]
		}
		cases := []struct {
			name   string
			query  string
			caller domain.UserID
			limit  int
			want   []domain.UserID
		}{
			{"first and last name prefix, lower-case query", tag, caller.ID, 10,
				[]domain.UserID{byFirstA.ID, byFirstB.ID, byLast.ID}},
			{"upper-case query", strings.ToUpper(tag), caller.ID, 10,
				[]domain.UserID{byFirstA.ID, byFirstB.ID, byLast.ID}},
			{"another caller sees the caller", tag, stranger, 10,
				[]domain.UserID{byFirstA.ID, byFirstB.ID, caller.ID, byLast.ID}},
			{"limit keeps the first in order", tag, caller.ID, 2,
				[]domain.UserID{byFirstA.ID, byFirstB.ID}},
			{"longer prefix narrows", tag + "b", caller.ID, 10,
				[]domain.UserID{byFirstB.ID}},
			{"the exact email", byEmail.Email, caller.ID, 10,
				[]domain.UserID{byEmail.ID}},
			{"the exact email in another case", strings.ToUpper(byEmail.Email), caller.ID, 10,
				[]domain.UserID{byEmail.ID}},
			{"an email prefix matches nobody", tag + ".mail", caller.ID, 10, nil},
			{"an email without its last letter matches nobody", strings.TrimSuffix(byEmail.Email, "m"), caller.ID, 10, nil},
			{"equal names are ordered by id", "oo" + tag, caller.ID, 10, twins},
			{"no match", "qq" + tag, caller.ID, 10, nil},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				got, err := s.SearchUsers(t.Context(), c.query, c.caller, c.limit)
				require.NoError(t, err)
				if len(c.want) == 0 {
					assert.Empty(t, got)
					return
				}
				assert.Equal(t, c.want, userIDs(got), "matches in order (first name then last name, as created: %s < %s < %s)", byFirstA.FirstName, byFirstB.FirstName, caller.FirstName)
			})
		}

		search := func(t *testing.T, query string, caller domain.UserID) map[domain.UserID]domain.User {
			t.Helper()
			got, err := s.SearchUsers(t.Context(), query, caller, 10)
			require.NoError(t, err)
			byID := map[domain.UserID]domain.User{}
			for _, u := range got {
				byID[u.ID] = u
			}
			return byID
		}
		update := func(t *testing.T, a, b domain.UserID, fn func(domain.Friendship) (domain.Friendship, error)) {
			t.Helper()
			_, err := friends.UpdateFriendship(t.Context(), a, b, fn)
			require.NoError(t, err)
		}
		befriend := func(t *testing.T, a, b domain.UserID) {
			t.Helper()
			update(t, a, b, func(f domain.Friendship) (domain.Friendship, error) {
				f, _, err := f.Request(a, b, at(1))
				return f, err
			})
			update(t, a, b, func(f domain.Friendship) (domain.Friendship, error) { return f.Accept(b, at(2)) })
		}
		block := func(t *testing.T, by, other domain.UserID) {
			t.Helper()
			update(t, by, other, func(f domain.Friendship) (domain.Friendship, error) { return f.Block(by, other, at(3)) })
		}

		t.Run("results carry names, and emails of friends only", func(t *testing.T) {
			befriend(t, caller.ID, byFirstB.ID)
			got := search(t, tag, caller.ID)
			require.Len(t, got, 3)
			assertSameUser(t, byFirstB, got[byFirstB.ID], "a friend's email is shown")
			assert.Equal(t, byFirstA.FirstName, got[byFirstA.ID].FirstName)
			assert.Equal(t, byFirstA.LastName, got[byFirstA.ID].LastName)
			assert.Empty(t, got[byFirstA.ID].Email, "a stranger's email is not")
			assert.Empty(t, got[byLast.ID].Email)
			for _, u := range got {
				assert.Empty(t, u.PasswordHash)
			}
			assert.Empty(t, search(t, byEmail.Email, caller.ID)[byEmail.ID].Email, "found by email, still not shown")
			assert.Empty(t, search(t, tag, stranger)[byFirstB.ID].Email, "a friend of someone else")
		})

		t.Run("users who blocked the caller are hidden from it", func(t *testing.T) {
			block(t, byLast.ID, caller.ID)
			block(t, caller.ID, byFirstA.ID)
			got := search(t, tag, caller.ID)
			assert.NotContains(t, got, byLast.ID, "byLast blocked the caller")
			assert.Contains(t, got, byFirstA.ID, "the caller blocked byFirstA: it may still find it")
			assert.Empty(t, got[byFirstA.ID].Email)
			assert.Contains(t, search(t, tag, stranger), byLast.ID, "others still find byLast")

			block(t, byEmail.ID, caller.ID)
			assert.Empty(t, search(t, byEmail.Email, caller.ID), "not even by exact email")
		})
	})
}
