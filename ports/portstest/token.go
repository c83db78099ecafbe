package portstest

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
)

// RunTokenStore runs the contract of ports.TokenStore. newStores returns a user
// store and a token store over the same data: tokens belong to users created in
// the user store.
func RunTokenStore(t *testing.T, newStores func(t *testing.T) (ports.UserStore, ports.TokenStore)) {
	now := at(1000)
	later := now.Add(24 * time.Hour)
	hash := func() string { return "h-" + token(24) }

	// login stores the first token of a new family of a fresh user.
	login := func(t *testing.T) (ports.TokenStore, ports.UserStore, domain.UserID, string) {
		t.Helper()
		users, tokens := newStores(t)
		u := createUser(t, users, userSpec{})
		h := hash()
		require.NoError(t, tokens.CreateRefreshToken(t.Context(), ports.RefreshToken{Hash: h, UserID: u.ID, Family: "f-" + token(16), ExpiresAt: later}))
		return tokens, users, u.ID, h
	}
	rotate := func(t *testing.T, s ports.TokenStore, old string) (string, domain.UserID, error) {
		t.Helper()
		next := hash()
		user, err := s.RotateRefreshToken(t.Context(), old, ports.RefreshToken{Hash: next, ExpiresAt: later}, now, 0)
		return next, user, err
	}

	t.Run("rotation returns the user; the new token works and the old stops", func(t *testing.T) {
		s, _, user, t1 := login(t)
		t2, got, err := rotate(t, s, t1)
		require.NoError(t, err)
		assert.Equal(t, user, got)
		_, got, err = rotate(t, s, t2)
		require.NoError(t, err, "the new token works")
		assert.Equal(t, user, got)
		_, _, err = rotate(t, s, t1)
		errorKind(t, domain.KindUnauthenticated, err)
	})

	t.Run("rotation keeps the old token's user and family", func(t *testing.T) {
		s, users, user, t1 := login(t)
		intruder := createUser(t, users, userSpec{})
		t2 := hash()
		got, err := s.RotateRefreshToken(t.Context(), t1, ports.RefreshToken{Hash: t2, UserID: intruder.ID, Family: "f-" + token(16), ExpiresAt: later}, now, 0)
		require.NoError(t, err)
		assert.Equal(t, user, got)
		_, got, err = rotate(t, s, t2)
		require.NoError(t, err)
		assert.Equal(t, user, got, "next.UserID is ignored")
		// Same family: reusing t1 now revokes t2's successor too.
		_, _, err = rotate(t, s, t1)
		errorKind(t, domain.KindUnauthenticated, err)
	})

	t.Run("CreateRefreshToken with a stored hash is a conflict", func(t *testing.T) {
		s, _, user, t1 := login(t)
		err := s.CreateRefreshToken(t.Context(), ports.RefreshToken{Hash: t1, UserID: user, Family: "f-" + token(16), ExpiresAt: later})
		errorKind(t, domain.KindConflict, err)
		_, got, err := rotate(t, s, t1)
		require.NoError(t, err, "the first token is unharmed")
		assert.Equal(t, user, got)
	})

	t.Run("an unknown token is unauthenticated", func(t *testing.T) {
		s, _, _, _ := login(t)
		_, _, err := rotate(t, s, hash())
		errorKind(t, domain.KindUnauthenticated, err)
	})

	t.Run("an expired token is unauthenticated", func(t *testing.T) {
		users, s := newStores(t)
		u := createUser(t, users, userSpec{})
		h := hash()
		require.NoError(t, s.CreateRefreshToken(t.Context(), ports.RefreshToken{Hash: h, UserID: u.ID, Family: "f-" + token(16), ExpiresAt: now.Add(-time.Second)}))
		_, _, err := rotate(t, s, h)
		errorKind(t, domain.KindUnauthenticated, err)

		// The same token presented at an earlier instant, before it expired, works:
		// expiry is judged at the now the caller passes.
		h2 := hash()
		require.NoError(t, s.CreateRefreshToken(t.Context(), ports.RefreshToken{Hash: h2, UserID: u.ID, Family: "f-" + token(16), ExpiresAt: now.Add(time.Minute)}))
		got, err := s.RotateRefreshToken(t.Context(), h2, ports.RefreshToken{Hash: hash(), ExpiresAt: later}, now, 0)
		require.NoError(t, err)
		assert.Equal(t, u.ID, got)
	})

	t.Run("a rotated token presented again revokes its family", func(t *testing.T) {
		s, _, _, t1 := login(t)
		t2, _, err := rotate(t, s, t1)
		require.NoError(t, err)
		t3, _, err := rotate(t, s, t2)
		require.NoError(t, err)

		_, _, err = rotate(t, s, t1) // a stolen copy of t1
		errorKind(t, domain.KindUnauthenticated, err)
		_, _, err = rotate(t, s, t3)
		errorKind(t, domain.KindUnauthenticated, err) // the newest of the family is dead too
		_, _, err = rotate(t, s, t2)
		errorKind(t, domain.KindUnauthenticated, err)
	})

	t.Run("families are independent", func(t *testing.T) {
		users, s := newStores(t)
		u := createUser(t, users, userSpec{})
		a1, b1 := hash(), hash()
		require.NoError(t, s.CreateRefreshToken(t.Context(), ports.RefreshToken{Hash: a1, UserID: u.ID, Family: "f-" + token(16), ExpiresAt: later}))
		require.NoError(t, s.CreateRefreshToken(t.Context(), ports.RefreshToken{Hash: b1, UserID: u.ID, Family: "f-" + token(16), ExpiresAt: later}))
		_, _, err := rotate(t, s, a1)
		require.NoError(t, err)
		_, _, err = rotate(t, s, a1) // revokes a's family only
		errorKind(t, domain.KindUnauthenticated, err)
		require.NoError(t, s.RevokeRefreshToken(t.Context(), a1))
		_, got, err := rotate(t, s, b1)
		require.NoError(t, err, "another login of the same user still works")
		assert.Equal(t, u.ID, got)
	})

	t.Run("RevokeRefreshToken revokes the family and is idempotent", func(t *testing.T) {
		s, _, _, t1 := login(t)
		t2, _, err := rotate(t, s, t1)
		require.NoError(t, err)
		t3, _, err := rotate(t, s, t2)
		require.NoError(t, err)

		require.NoError(t, s.RevokeRefreshToken(t.Context(), t2)) // an older member of the family
		require.NoError(t, s.RevokeRefreshToken(t.Context(), t2))
		require.NoError(t, s.RevokeRefreshToken(t.Context(), t3))
		_, _, err = rotate(t, s, t3)
		errorKind(t, domain.KindUnauthenticated, err)
		require.NoError(t, s.RevokeRefreshToken(t.Context(), hash()), "an unknown hash is not an error")
	})

	t.Run("within the grace a rotated token rotates again, in its family", func(t *testing.T) {
		s, _, user, t1 := login(t)
		const grace = 10 * time.Second
		rotateAt := func(old string, at time.Time) (string, domain.UserID, error) {
			next := hash()
			got, err := s.RotateRefreshToken(t.Context(), old, ports.RefreshToken{Hash: next, ExpiresAt: later}, at, grace)
			return next, got, err
		}
		t2, _, err := rotateAt(t1, now)
		require.NoError(t, err)
		t3, got, err := rotateAt(t1, now.Add(5*time.Second)) // the other tab
		require.NoError(t, err, "a second refresh within the grace")
		assert.Equal(t, user, got)
		_, _, err = rotateAt(t1, now.Add(9*time.Second))
		require.NoError(t, err, "and a third")
		t4, _, err := rotateAt(t2, now.Add(9*time.Second))
		require.NoError(t, err, "the first rotation's token still works")

		// The grace counts from the first rotation, not the latest.
		_, _, err = rotateAt(t1, now.Add(grace))
		errorKind(t, domain.KindUnauthenticated, err)
		for _, h := range []string{t3, t4} {
			_, _, err = rotateAt(h, now.Add(grace))
			errorKind(t, domain.KindUnauthenticated, err) // the family is revoked
		}
	})

	t.Run("concurrent rotations of one token within the grace all win", func(t *testing.T) {
		s, _, user, t1 := login(t)
		const workers = 10
		var wg sync.WaitGroup
		nexts := make([]string, workers)
		errs := make([]error, workers)
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				nexts[w] = hash()
				_, errs[w] = s.RotateRefreshToken(t.Context(), t1, ports.RefreshToken{Hash: nexts[w], ExpiresAt: later}, now, time.Minute)
			}()
		}
		wg.Wait()
		for w := range workers {
			require.NoError(t, errs[w])
			_, got, err := rotate(t, s, nexts[w])
			require.NoError(t, err, "every tab's new token works")
			assert.Equal(t, user, got)
		}
	})

	t.Run("concurrent rotations of one token: exactly one wins", func(t *testing.T) {
		s, _, user, t1 := login(t)
		const workers = 10
		var wg sync.WaitGroup
		users := make([]domain.UserID, workers)
		errs := make([]error, workers)
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				users[w], errs[w] = s.RotateRefreshToken(t.Context(), t1, ports.RefreshToken{Hash: hash(), ExpiresAt: later}, now, 0)
			}()
		}
		wg.Wait()
		wins := 0
		for w, err := range errs {
			if err == nil {
				wins++
				assert.Equal(t, user, users[w])
				continue
			}
			errorKind(t, domain.KindUnauthenticated, err)
		}
		assert.Equal(t, 1, wins, "successful rotations")
	})
}
