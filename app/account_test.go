package app_test

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/adapters/memory"
	"github.com/messenger-go/messenger/app"
	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
)

// account registers a user with a known email and password and returns its
// session.
func (w *world) account(t *testing.T, first string) ports.Session {
	t.Helper()
	s, err := w.app.Register(context.Background(), domain.Registration{
		FirstName: first, LastName: "Test", Email: first + "." + domain.NewUUID()[:8] + "@example.com", Password: goodPassword,
	}, netip.Addr{})
	require.NoError(t, err)
	return s
}

// closed reports whether user's sockets were told to close.
func (w *world) closed(user domain.UserID) int {
	return len(w.notes.of(user, domain.SignalCloseSessions))
}

func TestProfile(t *testing.T) {
	w := newWorld(t)
	ctx := t.Context()
	s := w.account(t, "ann")
	me, err := w.app.Me(ctx, s.User.ID)
	require.NoError(t, err)
	assert.Equal(t, s.User.Email, me.Email)

	first := "  Annie "
	got, err := w.app.UpdateMe(ctx, s.User.ID, domain.ProfileUpdate{FirstName: &first})
	require.NoError(t, err)
	assert.Equal(t, "Annie", got.FirstName)
	assert.Equal(t, "Test", got.LastName, "an absent field is left as it is")
	me, err = w.app.Me(ctx, s.User.ID)
	require.NoError(t, err)
	assert.Equal(t, "Annie", me.FirstName)

	blank, tooLong := " ", strings.Repeat("x", domain.MaxNameBytes+1)
	_, err = w.app.UpdateMe(ctx, s.User.ID, domain.ProfileUpdate{LastName: &blank})
	assert.Equal(t, domain.KindInvalid, domain.KindOf(err))
	_, err = w.app.UpdateMe(ctx, s.User.ID, domain.ProfileUpdate{LastName: &tooLong})
	assert.Equal(t, domain.KindTooLarge, domain.KindOf(err))
}

// revocation is a way to revoke a user's credentials.
type revocation struct {
	name   string
	revoke func(w *world, s ports.Session) error
	// password is the one that logs in afterwards.
	password string
}

var revocations = []revocation{
	{"change password", func(w *world, s ports.Session) error {
		return w.app.ChangePassword(context.Background(), s.User.ID, goodPassword, "a brand new password")
	}, "a brand new password"},
	{"log out everywhere", func(w *world, s ports.Session) error {
		return w.app.LogoutAll(context.Background(), s.User.ID)
	}, goodPassword},
}

func TestRevokingCredentials(t *testing.T) {
	for _, rv := range revocations {
		t.Run(rv.name, func(t *testing.T) {
			// The user cache is long: the revocation must not wait for it.
			w := newWorld(t, func(c *app.Config) { c.Guards.UserCacheTTL = time.Hour })
			ctx := t.Context()
			s := w.account(t, "ann")
			other := w.account(t, "ben")
			second, err := w.app.Login(ctx, s.User.Email, goodPassword, netip.Addr{})
			require.NoError(t, err)
			for _, tok := range []string{s.AccessToken, second.AccessToken, other.AccessToken} {
				_, _, err := w.app.Authenticate(ctx, tok)
				require.NoError(t, err, "accepted before, and cached")
			}

			require.NoError(t, rv.revoke(w, s))

			for _, tok := range []string{s.AccessToken, second.AccessToken} {
				_, _, err := w.app.Authenticate(ctx, tok)
				assert.Equal(t, domain.KindUnauthenticated, domain.KindOf(err), "an access token issued before is refused at once")
			}
			for _, rt := range []string{s.RefreshToken, second.RefreshToken} {
				_, err := w.app.Refresh(ctx, rt)
				assert.Equal(t, domain.KindUnauthenticated, domain.KindOf(err), "every refresh token is revoked")
			}
			assert.Equal(t, 1, w.closed(s.User.ID), "the user's sockets are told to close")
			_, _, err = w.app.Authenticate(ctx, other.AccessToken)
			assert.NoError(t, err, "another user is untouched")
			assert.Zero(t, w.closed(other.User.ID))

			fresh, err := w.app.Login(ctx, s.User.Email, rv.password, netip.Addr{})
			require.NoError(t, err)
			user, _, err := w.app.Authenticate(ctx, fresh.AccessToken)
			require.NoError(t, err, "a token issued after the call returned is accepted")
			assert.Equal(t, s.User.ID, user)
			_, err = w.app.Refresh(ctx, fresh.RefreshToken)
			assert.NoError(t, err)
		})
	}
}

func TestChangePasswordChecksTheCurrentOne(t *testing.T) {
	g := newGuarded(t)
	ctx := t.Context()
	u := g.register(t, "ann@example.com")
	err := g.app.ChangePassword(ctx, u.ID, "not my password", "a brand new password")
	assert.Equal(t, domain.KindForbidden, domain.KindOf(err))
	assert.Equal(t, domain.KindInvalid, domain.KindOf(g.app.ChangePassword(ctx, u.ID, goodPassword, "short")), "the new one follows the rules")
	assert.Equal(t, domain.KindInvalid, domain.KindOf(g.app.ChangePassword(ctx, u.ID, "", "a brand new password")))
	_, err = g.app.Login(ctx, "ann@example.com", goodPassword, netip.Addr{})
	require.NoError(t, err, "nothing changed")

	// Wrong current passwords count as failed logins of the account.
	for range app.DefaultLoginAccountBackoff.Free {
		_ = g.app.ChangePassword(ctx, u.ID, "guess", "a brand new password")
	}
	err = g.app.ChangePassword(ctx, u.ID, goodPassword, "a brand new password")
	assert.Equal(t, domain.KindRateLimited, domain.KindOf(err), "guessing through the account is throttled like logins")
	_, err = g.app.Login(ctx, "ann@example.com", goodPassword, netip.Addr{})
	assert.Equal(t, domain.KindRateLimited, domain.KindOf(err), "and counts against logins")
}

func TestRevocationReachesOtherNodesAtOnce(t *testing.T) {
	feed := memory.NewAccountChanges()
	store := memory.NewStore()
	// Two nodes over one store, each caching users for an hour.
	node := func() *world {
		return newWorld(t, func(c *app.Config) {
			c.Users, c.Friends, c.RefreshTokens, c.Receipts, c.Inbox = store, store, store, store, store
			c.AccountChanges = feed
			c.Guards.UserCacheTTL = time.Hour
		})
	}
	n1, n2 := node(), node()
	n1.store, n2.store = store, store
	ctx := t.Context()
	s := n1.account(t, "ann")
	_, _, err := n2.app.Authenticate(ctx, s.AccessToken)
	require.Error(t, err, "the nodes sign with keys of their own")

	// A token n2 issued and cached; the user logs out everywhere through n1.
	mine, err := n2.app.Login(ctx, s.User.Email, goodPassword, netip.Addr{})
	require.NoError(t, err)
	_, _, err = n2.app.Authenticate(ctx, mine.AccessToken)
	require.NoError(t, err)
	require.NoError(t, n1.app.LogoutAll(ctx, s.User.ID))
	_, _, err = n2.app.Authenticate(ctx, mine.AccessToken)
	assert.Equal(t, domain.KindUnauthenticated, domain.KindOf(err), "the other node refuses it at once")
}

func TestExportThenDeleteAccount(t *testing.T) {
	w := newWorld(t, func(c *app.Config) { c.Guards.UserCacheTTL = time.Hour })
	ctx := t.Context()
	ann := w.account(t, "ann")
	a, b, c, d := ann.User.ID, w.user(t, "ben"), w.user(t, "cat"), w.user(t, "dan")
	w.friends(t, a, b)
	w.friends(t, c, a)
	_, err := w.app.SendFriendRequest(ctx, d, a)
	require.NoError(t, err)

	var batch []ports.Record
	batch = append(batch, record(t, draft(t, a, b, "to ben 1", "ab1"), 0), record(t, draft(t, b, a, "to ann", "ba1"), 1),
		record(t, draft(t, a, b, "to ben 2", "ab2"), 2))
	for i := range domain.MaxPageLimit + 10 { // more than a page of history
		batch = append(batch, record(t, draft(t, c, a, fmt.Sprintf("from cat %d", i), fmt.Sprintf("ca%d", i)), int64(3+i)))
	}
	_, err = w.app.HandleChatMessages(ctx, batch)
	require.NoError(t, err)
	unread, err := w.app.UnreadCount(ctx, b)
	require.NoError(t, err)
	require.Equal(t, int64(2), unread.Total, "ben has ann's two messages unread, and the count is cached")

	export, err := w.app.ExportAccount(ctx, a)
	require.NoError(t, err)
	assert.Equal(t, ann.User.Email, export.User.Email)
	assert.Len(t, export.Friendships, 3, "two friendships and a pending request")
	require.Len(t, export.Messages, 3+domain.MaxPageLimit+10, "every message sent or received, across pages")
	texts := map[string]bool{}
	for _, m := range export.Messages {
		texts[m.Text] = true
		assert.True(t, m.ConversationID.Has(a))
	}
	assert.True(t, texts["to ben 1"] && texts["to ann"] && texts["from cat 0"] && texts[fmt.Sprintf("from cat %d", domain.MaxPageLimit+9)])

	assert.Equal(t, domain.KindForbidden, domain.KindOf(w.app.DeleteAccount(ctx, a, "not my password")))
	_, _, err = w.app.Authenticate(ctx, ann.AccessToken)
	require.NoError(t, err, "a wrong password deletes nothing")

	require.NoError(t, w.app.DeleteAccount(ctx, a, goodPassword))

	_, _, err = w.app.Authenticate(ctx, ann.AccessToken)
	assert.Equal(t, domain.KindUnauthenticated, domain.KindOf(err), "its tokens are refused at once")
	_, err = w.app.Refresh(ctx, ann.RefreshToken)
	assert.Equal(t, domain.KindUnauthenticated, domain.KindOf(err))
	_, err = w.app.Login(ctx, ann.User.Email, goodPassword, netip.Addr{})
	assert.Equal(t, domain.KindUnauthenticated, domain.KindOf(err), "it cannot log in")
	assert.Equal(t, 1, w.closed(a))
	for _, friend := range []domain.UserID{b, c} {
		evs := w.notes.of(friend, domain.EventFriendRemoved)
		require.Len(t, evs, 1, "a former friend hears of it")
		assert.Equal(t, domain.UserIDPayload{UserID: a}, evs[0].Data)
		fs, err := w.app.Friends(ctx, friend)
		require.NoError(t, err)
		assert.Empty(t, fs)
	}
	assert.Empty(t, w.notes.of(d, domain.EventFriendRemoved), "a pending requester was no friend")
	pending, err := w.app.PendingRequests(ctx, d)
	require.NoError(t, err)
	assert.Empty(t, pending)

	hist := w.history(t, b, a)
	require.Len(t, hist, 3)
	assert.Empty(t, hist[0].Text, "what the deleted account sent is erased")
	assert.NotNil(t, hist[0].DeletedAt)
	assert.Equal(t, "to ann", hist[1].Text, "what ben sent stays for him")
	unread, err = w.app.UnreadCount(ctx, b)
	require.NoError(t, err)
	assert.Zero(t, unread.Total, "the cached count was dropped: the erased messages are not unread")
	convs, err := w.app.Conversations(ctx, b)
	require.NoError(t, err)
	require.Len(t, convs, 1)
	assert.Equal(t, domain.DeletedUser(a), convs[0].Peer)

	again, err := w.app.Register(ctx, domain.Registration{FirstName: "Ann", LastName: "Again", Email: ann.User.Email, Password: goodPassword}, netip.Addr{})
	require.NoError(t, err, "the email registers again")
	assert.NotEqual(t, a, again.User.ID)
	assert.Equal(t, domain.KindNotFound, domain.KindOf(w.app.DeleteAccount(ctx, a, goodPassword)))
}
