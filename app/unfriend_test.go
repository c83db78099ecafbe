package app_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/app"
	"github.com/messenger-go/messenger/domain"
)

func TestDeclineAndCancelFriendRequests(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	a, b := w.user(t, "ann"), w.user(t, "ben")

	_, err := w.app.SendFriendRequest(ctx, a, b)
	require.NoError(t, err)
	assert.Equal(t, domain.KindNotFound, domain.KindOf(w.app.DeclineFriendRequest(ctx, a, b)), "the requester cannot decline")
	assert.Equal(t, domain.KindNotFound, domain.KindOf(w.app.CancelFriendRequest(ctx, b, a)), "the addressee cannot cancel")
	require.NoError(t, w.app.DeclineFriendRequest(ctx, b, a))
	pending, err := w.app.PendingRequests(ctx, b)
	require.NoError(t, err)
	assert.Empty(t, pending, "a declined request leaves the list")
	assert.Equal(t, domain.KindNotFound, domain.KindOf(w.app.DeclineFriendRequest(ctx, b, a)), "declined once")

	// Declined, a may ask again; then withdraw it.
	_, err = w.app.SendFriendRequest(ctx, a, b)
	require.NoError(t, err)
	require.NoError(t, w.app.CancelFriendRequest(ctx, a, b))
	pending, err = w.app.PendingRequests(ctx, b)
	require.NoError(t, err)
	assert.Empty(t, pending, "a cancelled request leaves the addressee's list")
	assert.Equal(t, domain.KindInvalid, domain.KindOf(w.app.CancelFriendRequest(ctx, a, a)))
}

func TestUnfriend(t *testing.T) {
	feed := &fakeChanges{}
	w := newWorld(t, func(c *app.Config) { c.FriendshipChanges = feed })
	w.run(t)
	ctx := context.Background()
	a, b := w.user(t, "ann"), w.user(t, "ben")
	w.friends(t, a, b)
	require.NoError(t, w.send(ctx, a, b), "friends may send; the answer is cached")

	feed.announced = nil
	require.NoError(t, w.app.Unfriend(ctx, b, a))
	require.Len(t, feed.announced, 1, "the change is announced to the other nodes")
	assert.ElementsMatch(t, []domain.UserID{a, b}, feed.announced[0][:])
	assert.Equal(t, domain.KindForbidden, domain.KindOf(w.send(ctx, a, b)), "sends are refused at once, despite the cache")
	assert.Equal(t, domain.KindForbidden, domain.KindOf(w.send(ctx, b, a)), "both ways")
	friends, err := w.app.Friends(ctx, a)
	require.NoError(t, err)
	assert.Empty(t, friends)

	require.Eventually(t, func() bool {
		return len(w.notes.of(a, domain.EventFriendRemoved)) == 1 && len(w.notes.of(b, domain.EventFriendRemoved)) == 1
	}, 5*time.Second, 5*time.Millisecond)
	assert.Equal(t, domain.UserIDPayload{UserID: b}, w.notes.of(a, domain.EventFriendRemoved)[0].Data, "the other side learns who left")
	assert.Equal(t, domain.UserIDPayload{UserID: a}, w.notes.of(b, domain.EventFriendRemoved)[0].Data, "the remover's other devices too")

	assert.Equal(t, domain.KindNotFound, domain.KindOf(w.app.Unfriend(ctx, a, b)), "no friendship left to end")
	_, err = w.app.Block(ctx, a, b)
	require.NoError(t, err)
	assert.Equal(t, domain.KindForbidden, domain.KindOf(w.app.Unfriend(ctx, a, b)), "a block is not lifted by unfriending")

	// Friends again after a request and an acceptance.
	require.NoError(t, w.app.Unblock(ctx, a, b))
	w.friends(t, a, b)
	assert.NoError(t, w.send(ctx, a, b))
}
