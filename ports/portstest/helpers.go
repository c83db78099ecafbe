package portstest

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
)

// epoch is the time base of every suite: whole seconds in UTC, so stores with
// microsecond precision keep every time exactly.
var epoch = time.Date(2030, time.March, 4, 10, 0, 0, 0, time.UTC)

// at returns epoch plus n seconds.
func at(n int) time.Time { return epoch.Add(time.Duration(n) * time.Second) }

// token returns a random lower-case string of n letters.
func token(n int) string {
	const letters = "abcdefghijklmnopqrstuvwxyz"
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = letters[int(b[i])%len(letters)]
	}
	return string(b)
}

// userSpec describes a user to create; empty fields get random values.
type userSpec struct {
	first, last, email string
}

// createUser stores a user with a fresh id and returns it.
func createUser(t *testing.T, users ports.UserStore, s userSpec) domain.User {
	t.Helper()
	if s.first == "" {
		s.first = "F" + token(8)
	}
	if s.last == "" {
		s.last = "L" + token(8)
	}
	if s.email == "" {
		s.email = "u" + token(12) + "@example.com"
	}
	u := domain.User{
		ID:           domain.NewUserID(),
		FirstName:    s.first,
		LastName:     s.last,
		Email:        s.email,
		PasswordHash: "hash-" + token(8),
		CreatedAt:    at(0),
	}
	require.NoError(t, users.CreateUser(t.Context(), u), "create user %s", u.Email)
	return u
}

// assertSameUser checks the public fields of a user (those other stores join in).
func assertSameUser(t *testing.T, want, got domain.User, msgAndArgs ...any) {
	t.Helper()
	assert.Equal(t, want.ID, got.ID, msgAndArgs...)
	assert.Equal(t, want.FirstName, got.FirstName, msgAndArgs...)
	assert.Equal(t, want.LastName, got.LastName, msgAndArgs...)
	assert.Equal(t, want.Email, got.Email, msgAndArgs...)
}

// userIDs returns the ids of users, in order.
func userIDs(users []domain.User) []domain.UserID {
	ids := make([]domain.UserID, len(users))
	for i, u := range users {
		ids[i] = u.ID
	}
	return ids
}

// assertTime checks that got is the instant want, whatever its location.
func assertTime(t *testing.T, want, got time.Time, msgAndArgs ...any) {
	t.Helper()
	if !want.Equal(got) {
		assert.Fail(t, "times differ: want "+want.Format(time.RFC3339Nano)+", got "+got.Format(time.RFC3339Nano), msgAndArgs...)
	}
}

// assertTimePtr checks an optional time: nil when want is nil, else the same instant.
func assertTimePtr(t *testing.T, want, got *time.Time, msgAndArgs ...any) {
	t.Helper()
	switch {
	case want == nil && got == nil:
	case want == nil:
		assert.Fail(t, "want no time, got "+got.Format(time.RFC3339Nano), msgAndArgs...)
	case got == nil:
		assert.Fail(t, "want "+want.Format(time.RFC3339Nano)+", got no time", msgAndArgs...)
	default:
		assertTime(t, *want, *got, msgAndArgs...)
	}
}

// assertJSON compares metadata as JSON values (stores may reformat it); nil,
// empty and null all mean "none".
func assertJSON(t *testing.T, want, got json.RawMessage, msgAndArgs ...any) {
	t.Helper()
	none := func(r json.RawMessage) bool {
		s := strings.TrimSpace(string(r))
		return s == "" || s == "null"
	}
	switch {
	case none(want) && none(got):
	case none(want) || none(got):
		assert.Fail(t, "metadata differs: want "+string(want)+", got "+string(got), msgAndArgs...)
	default:
		assert.JSONEq(t, string(want), string(got), msgAndArgs...)
	}
}

// errorKind asserts that err is a domain error of kind k.
func errorKind(t *testing.T, k domain.Kind, err error) {
	t.Helper()
	if !assert.Error(t, err, "want a %s error", k) {
		return
	}
	assert.Equal(t, k.String(), domain.KindOf(err).String(), "kind of error %q", err)
}

// ctxTimeout returns a context of the test that ends after d.
func ctxTimeout(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), d)
	t.Cleanup(cancel)
	return ctx
}
