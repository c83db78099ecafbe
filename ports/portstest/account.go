package portstest

import (
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
)

// AccountStores are every store of one backend, over the same data: an
// account's lifecycle (DeleteUser above all) touches each of them.
type AccountStores struct {
	Users    ports.UserStore
	Friends  ports.FriendStore
	Tokens   ports.TokenStore
	Messages ports.MessageStore
	Receipts ports.ReceiptStore
	Inbox    ports.InboxStore
}

// RunAccountStore runs the contract of the account lifecycle methods:
// UserStore.UpdateUser and DeleteUser, FriendStore.Relations and
// TokenStore.RevokeUserTokens.
func RunAccountStore(t *testing.T, newStores func(t *testing.T) AccountStores) {
	later := at(0).Add(24 * time.Hour)
	newToken := func(t *testing.T, s AccountStores, user domain.UserID) string {
		t.Helper()
		h := "h-" + token(24)
		require.NoError(t, s.Tokens.CreateRefreshToken(t.Context(), ports.RefreshToken{Hash: h, UserID: user, Family: "f-" + token(16), ExpiresAt: later}))
		return h
	}
	rotate := func(t *testing.T, s AccountStores, old string) (string, error) {
		t.Helper()
		next := "h-" + token(24)
		_, err := s.Tokens.RotateRefreshToken(t.Context(), old, ports.RefreshToken{Hash: next, ExpiresAt: later}, at(10), 0)
		return next, err
	}
	relate := func(t *testing.T, s AccountStores, fn func(domain.Friendship) (domain.Friendship, error), a, b domain.UserID) {
		t.Helper()
		_, err := s.Friends.UpdateFriendship(t.Context(), a, b, fn)
		require.NoError(t, err)
	}
	befriend := func(t *testing.T, s AccountStores, a, b domain.UserID, sec int) {
		t.Helper()
		relate(t, s, func(f domain.Friendship) (domain.Friendship, error) {
			next, _, err := f.Request(a, b, at(sec))
			return next, err
		}, a, b)
		relate(t, s, func(f domain.Friendship) (domain.Friendship, error) { return f.Accept(b, at(sec+1)) }, b, a)
	}

	t.Run("UpdateUser stores the names, the hash and the times, and nothing else", func(t *testing.T) {
		s := newStores(t)
		u := createUser(t, s.Users, userSpec{})
		seen := at(50)
		got, err := s.Users.UpdateUser(t.Context(), u.ID, func(cur domain.User) (domain.User, error) {
			assertSameUser(t, u, cur, "fn sees the stored user")
			cur.FirstName, cur.LastName, cur.PasswordHash = "Ada", "Byron", "new-hash"
			cur.TokensValidAfter, cur.LastSeenAt = at(40), &seen
			cur.ID, cur.Email, cur.CreatedAt = domain.NewUserID(), "other@example.com", at(99)
			return cur, nil
		})
		require.NoError(t, err)
		for _, stored := range []domain.User{got, mustUser(t, s.Users, u.ID)} {
			assert.Equal(t, u.ID, stored.ID, "the id does not change")
			assert.Equal(t, u.Email, stored.Email, "the email does not change")
			assertTime(t, u.CreatedAt, stored.CreatedAt, "the creation time does not change")
			assert.Equal(t, "Ada", stored.FirstName)
			assert.Equal(t, "Byron", stored.LastName)
			assert.Equal(t, "new-hash", stored.PasswordHash)
			assertTime(t, at(40), stored.TokensValidAfter)
			assertTimePtr(t, &seen, stored.LastSeenAt)
		}
		byEmail, err := s.Users.UserByEmail(t.Context(), u.Email)
		require.NoError(t, err)
		assert.Equal(t, "new-hash", byEmail.PasswordHash)
		assertTime(t, at(40), byEmail.TokensValidAfter)
	})

	t.Run("UpdateUser: an error from fn stores nothing and is returned as is", func(t *testing.T) {
		s := newStores(t)
		u := createUser(t, s.Users, userSpec{})
		boom := errors.New("boom")
		_, err := s.Users.UpdateUser(t.Context(), u.ID, func(cur domain.User) (domain.User, error) {
			cur.FirstName = "Changed"
			return cur, boom
		})
		assert.ErrorIs(t, err, boom)
		assert.Equal(t, u.FirstName, mustUser(t, s.Users, u.ID).FirstName)
	})

	t.Run("UpdateUser of an unknown user is not found", func(t *testing.T) {
		s := newStores(t)
		_, err := s.Users.UpdateUser(t.Context(), domain.NewUserID(), func(cur domain.User) (domain.User, error) { return cur, nil })
		errorKind(t, domain.KindNotFound, err)
	})

	t.Run("concurrent UpdateUser calls of one user are serialised", func(t *testing.T) {
		s := newStores(t)
		u := createUser(t, s.Users, userSpec{first: "x"})
		const workers, each = 6, 5
		var wg sync.WaitGroup
		errs := make(chan error, workers*each)
		for range workers {
			wg.Go(func() {
				for range each {
					_, err := s.Users.UpdateUser(t.Context(), u.ID, func(cur domain.User) (domain.User, error) {
						cur.FirstName += "x"
						return cur, nil
					})
					errs <- err
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
		assert.Len(t, mustUser(t, s.Users, u.ID).FirstName, 1+workers*each, "one letter per update: none lost")
	})

	t.Run("RevokeUserTokens revokes every family of the user and only theirs", func(t *testing.T) {
		s := newStores(t)
		u, other := createUser(t, s.Users, userSpec{}), createUser(t, s.Users, userSpec{})
		first, second := newToken(t, s, u.ID), newToken(t, s, u.ID)
		rotated, err := rotate(t, s, second)
		require.NoError(t, err)
		theirs := newToken(t, s, other.ID)

		require.NoError(t, s.Tokens.RevokeUserTokens(t.Context(), u.ID))
		require.NoError(t, s.Tokens.RevokeUserTokens(t.Context(), u.ID), "idempotent")
		for _, h := range []string{first, rotated} { // two families, one rotated
			_, err := rotate(t, s, h)
			errorKind(t, domain.KindUnauthenticated, err)
		}
		_, err = rotate(t, s, theirs)
		assert.NoError(t, err, "another user's tokens still work")
		assert.NoError(t, s.Tokens.RevokeUserTokens(t.Context(), domain.NewUserID()), "a user without tokens")
	})

	t.Run("Relations lists every relation of the user, oldest first", func(t *testing.T) {
		s := newStores(t)
		me := createUser(t, s.Users, userSpec{})
		asked, askedMe, friend, blocker, stranger := createUser(t, s.Users, userSpec{}), createUser(t, s.Users, userSpec{}),
			createUser(t, s.Users, userSpec{}), createUser(t, s.Users, userSpec{}), createUser(t, s.Users, userSpec{})
		relate(t, s, func(f domain.Friendship) (domain.Friendship, error) {
			next, _, err := f.Request(askedMe.ID, me.ID, at(30))
			return next, err
		}, askedMe.ID, me.ID)
		relate(t, s, func(f domain.Friendship) (domain.Friendship, error) {
			next, _, err := f.Request(me.ID, asked.ID, at(10))
			return next, err
		}, me.ID, asked.ID)
		befriend(t, s, friend.ID, me.ID, 20)
		relate(t, s, func(f domain.Friendship) (domain.Friendship, error) { return f.Block(blocker.ID, me.ID, at(40)) }, blocker.ID, me.ID)
		befriend(t, s, stranger.ID, asked.ID, 5) // not a relation of me

		got, err := s.Friends.Relations(t.Context(), me.ID)
		require.NoError(t, err)
		require.Len(t, got, 4)
		wantOther := []domain.UserID{asked.ID, friend.ID, askedMe.ID, blocker.ID}
		wantStatus := []domain.FriendshipStatus{domain.FriendPending, domain.FriendAccepted, domain.FriendPending, domain.FriendBlocked}
		for i, f := range got {
			assert.Equal(t, wantOther[i], f.Other(me.ID), "relation %d", i)
			assert.Equal(t, wantStatus[i], f.Status, "relation %d", i)
		}
		assert.Equal(t, me.ID, got[0].UserID, "the requester of an outgoing request is me")
		assert.Equal(t, askedMe.ID, got[2].UserID)
		assert.Equal(t, blocker.ID, got[3].BlockedBy)
		none, err := s.Friends.Relations(t.Context(), createUser(t, s.Users, userSpec{}).ID)
		require.NoError(t, err)
		assert.Empty(t, none)
	})

	t.Run("DeleteUser erases the account and keeps the peers' history as tombstones", func(t *testing.T) {
		s := newStores(t)
		c := &chat{MessageStores: MessageStores{Users: s.Users, Messages: s.Messages, Receipts: s.Receipts, Inbox: s.Inbox}, t: t}
		gone := createUser(t, s.Users, userSpec{first: "Gone" + token(6)})
		peer, friend, requester := createUser(t, s.Users, userSpec{}), createUser(t, s.Users, userSpec{}), createUser(t, s.Users, userSpec{})
		befriend(t, s, gone.ID, peer.ID, 1)
		befriend(t, s, friend.ID, gone.ID, 2)
		relate(t, s, func(f domain.Friendship) (domain.Friendship, error) {
			next, _, err := f.Request(requester.ID, gone.ID, at(3))
			return next, err
		}, requester.ID, gone.ID)
		refresh := newToken(t, s, gone.ID)

		sent := c.msg(gone, peer, "my words", 10)
		sent.Metadata = json.RawMessage(`{"k":"v"}`)
		received := c.msg(peer, gone, "their words", 11)
		sentLast := c.msg(gone, peer, "my last words", 12)
		c.append(sent, received, sentLast)
		conv := conversation(t, gone, peer)
		unread, err := s.Inbox.UnreadCounts(t.Context(), peer.ID)
		require.NoError(t, err)
		require.Equal(t, int64(2), unread.ByConversation[conv], "before: both messages of gone are unread")

		require.NoError(t, s.Users.DeleteUser(t.Context(), gone.ID, at(100)))

		_, err = s.Users.UserByID(t.Context(), gone.ID)
		errorKind(t, domain.KindNotFound, err)
		_, err = s.Users.UserByEmail(t.Context(), gone.Email)
		errorKind(t, domain.KindNotFound, err)
		found, err := s.Users.SearchUsers(t.Context(), gone.FirstName, peer.ID, 10)
		require.NoError(t, err)
		assert.Empty(t, found, "a deleted account is not found by its old name")
		_, err = s.Users.UpdateUser(t.Context(), gone.ID, func(u domain.User) (domain.User, error) { return u, nil })
		errorKind(t, domain.KindNotFound, err)
		errorKind(t, domain.KindNotFound, s.Users.DeleteUser(t.Context(), gone.ID, at(101)))

		again := createUser(t, s.Users, userSpec{email: gone.Email})
		assert.NotEqual(t, gone.ID, again.ID, "the email registers again, as a new account")

		_, err = rotate(t, s, refresh)
		errorKind(t, domain.KindUnauthenticated, err)
		for _, u := range []domain.User{gone, peer, friend, requester} {
			rels, err := s.Friends.Relations(t.Context(), u.ID)
			require.NoError(t, err)
			assert.Empty(t, rels, "no relation is left with the deleted account (%s)", u.FirstName)
			fs, err := s.Friends.Friends(t.Context(), u.ID)
			require.NoError(t, err)
			assert.Empty(t, fs)
		}
		pending, err := s.Friends.PendingRequests(t.Context(), gone.ID)
		require.NoError(t, err)
		assert.Empty(t, pending)

		hist := c.history(conv)
		require.Equal(t, []domain.Sequence{1, 2, 3}, sequences(hist), "the peer's history keeps every sequence")
		for _, i := range []int{0, 2} {
			m := hist[i]
			assert.Empty(t, m.Text, "the text of a message of the deleted account is gone")
			assertJSON(t, nil, m.Metadata, "and its metadata")
			assertTimePtr(t, ptr(at(100)), m.DeletedAt)
			assert.Equal(t, gone.ID, m.DeletedBy)
			assert.Equal(t, gone.ID, m.SenderID, "still from the deleted account's id")
			assert.Equal(t, int64(2), m.Version)
		}
		assert.Equal(t, "their words", hist[1].Text, "what the peer sent stays")
		assert.Nil(t, hist[1].DeletedAt)
		assert.Equal(t, int64(1), hist[1].Version)

		unread, err = s.Inbox.UnreadCounts(t.Context(), peer.ID)
		require.NoError(t, err)
		assert.Zero(t, unread.ByConversation[conv], "a tombstone is not unread")
		convs, err := s.Inbox.Conversations(t.Context(), peer.ID, 10)
		require.NoError(t, err)
		require.Len(t, convs, 1)
		assert.Equal(t, domain.DeletedUser(gone.ID).FirstName, convs[0].Peer.FirstName)
		assert.Equal(t, domain.DeletedUser(gone.ID).LastName, convs[0].Peer.LastName)
		assert.Empty(t, convs[0].Peer.Email)
		assert.Equal(t, gone.ID, convs[0].Peer.ID)
		assert.Equal(t, domain.Sequence(3), convs[0].LastMessage.Sequence)
		assert.NotNil(t, convs[0].LastMessage.DeletedAt, "the last message shows as deleted")
		assert.Zero(t, convs[0].UnreadCount)
	})
}

// mustUser reads a user that exists.
func mustUser(t *testing.T, users ports.UserStore, id domain.UserID) domain.User {
	t.Helper()
	u, err := users.UserByID(t.Context(), id)
	require.NoError(t, err)
	return u
}
