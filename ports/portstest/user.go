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
// newStore returns. "Ordered by name then id" is checked as: first name, then
// last name, then id; the names used sort the same case-sensitively or not.
func RunUserStore(t *testing.T, newStore func(t *testing.T) ports.UserStore) {
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
		s := newStore(t)
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
			name    string
			prefix  string
			exclude domain.UserID
			limit   int
			want    []domain.UserID
		}{
			{"first name, last name and email prefix, lower-case query", tag, caller.ID, 10,
				[]domain.UserID{byFirstA.ID, byFirstB.ID, byLast.ID, byEmail.ID}},
			{"upper-case query", strings.ToUpper(tag), caller.ID, 10,
				[]domain.UserID{byFirstA.ID, byFirstB.ID, byLast.ID, byEmail.ID}},
			{"the caller is included when not excluded", tag, stranger, 10,
				[]domain.UserID{byFirstA.ID, byFirstB.ID, caller.ID, byLast.ID, byEmail.ID}},
			{"limit keeps the first in order", tag, caller.ID, 2,
				[]domain.UserID{byFirstA.ID, byFirstB.ID}},
			{"longer prefix narrows", tag + "b", caller.ID, 10,
				[]domain.UserID{byFirstB.ID}},
			{"email prefix only", tag + ".mail", caller.ID, 10,
				[]domain.UserID{byEmail.ID}},
			{"equal names are ordered by id", "oo" + tag, caller.ID, 10, twins},
			{"no match", "qq" + tag, caller.ID, 10, nil},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				got, err := s.SearchUsers(t.Context(), c.prefix, c.exclude, c.limit)
				require.NoError(t, err)
				if len(c.want) == 0 {
					assert.Empty(t, got)
					return
				}
				assert.Equal(t, c.want, userIDs(got), "matches in order (first name then last name, as created: %s < %s < %s)", byFirstA.FirstName, byFirstB.FirstName, caller.FirstName)
			})
		}
		t.Run("results carry the user", func(t *testing.T) {
			got, err := s.SearchUsers(t.Context(), tag+".mail", caller.ID, 10)
			require.NoError(t, err)
			require.Len(t, got, 1)
			assertSameUser(t, byEmail, got[0])
		})
	})
}
