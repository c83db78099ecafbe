package server_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/client"
	"github.com/messenger-go/messenger/domain"
)

// unfriendScenario: alice (on nodeA) and bob (on nodeB) are friends; bob
// ends the friendship through nodeB. Both hear friendRemoved, and from then
// on sends between them are refused through either node, although both
// nodes had just said yes to a send.
func unfriendScenario(t *testing.T, nodeA, nodeB string) {
	ctx := context.Background()
	alice, bob := register(t, nodeA, "Alice"), register(t, nodeB, "Bob")
	alice.connect(t, nodeA)
	bob.connect(t, nodeB)
	befriend(t, alice, bob)
	via := func(u *user, base string) *client.Client { return client.New(base, nil).WithToken(u.Token()) }
	send := func(from *user, base string, to *user, cid string) error {
		_, err := via(from, base).Send(ctx, client.SendRequest{ReceiverID: to.id, Message: "hi", ClientMessageID: cid})
		return err
	}
	for _, base := range []string{nodeA, nodeB} {
		require.NoError(t, send(alice, base, bob, "before-a-"+base))
		require.NoError(t, send(bob, base, alice, "before-b-"+base))
	}

	require.NoError(t, bob.Do(ctx, "DELETE", "/friends/"+string(alice.id), nil, nil))
	var removed domain.UserIDPayload
	require.NoError(t, alice.expect(t, domain.EventFriendRemoved).Decode(&removed))
	require.Equal(t, bob.id, removed.UserID)
	require.NoError(t, bob.expect(t, domain.EventFriendRemoved).Decode(&removed))
	require.Equal(t, alice.id, removed.UserID)

	for i, base := range []string{nodeA, nodeB} {
		apiError(t, send(alice, base, bob, fmt.Sprintf("after-a-%d", i)), http.StatusForbidden, "forbidden")
		apiError(t, send(bob, base, alice, fmt.Sprintf("after-b-%d", i)), http.StatusForbidden, "forbidden")
	}
	friends, err := alice.Friends(ctx)
	require.NoError(t, err)
	require.Empty(t, friends)
	apiError(t, bob.Do(ctx, "DELETE", "/friends/"+string(alice.id), nil, nil), http.StatusNotFound, "not_found")

	// A declined request may be asked again; a cancelled one leaves the list.
	_, err = alice.SendFriendRequest(ctx, bob.id)
	require.NoError(t, err)
	require.NoError(t, bob.Do(ctx, "POST", "/friends/decline-request", map[string]any{"friendId": alice.id}, nil))
	pending, err := bob.PendingRequests(ctx)
	require.NoError(t, err)
	require.Empty(t, pending)
	_, err = alice.SendFriendRequest(ctx, bob.id)
	require.NoError(t, err)
	require.NoError(t, alice.Do(ctx, "POST", "/friends/cancel-request", map[string]any{"friendId": bob.id}, nil))
	pending, err = bob.PendingRequests(ctx)
	require.NoError(t, err)
	require.Empty(t, pending)
	apiError(t, alice.Do(ctx, "POST", "/friends/cancel-request", map[string]any{"friendId": bob.id}, nil), http.StatusNotFound, "not_found")
}

func TestEmbeddedServerUnfriend(t *testing.T) {
	base := startServer(t, nil)
	unfriendScenario(t, base, base)
}

// TestClusterUnfriendAppliesOnEveryNode: nodes cache that two users may
// message each other for 30 s; an unfriend through one node stops sends
// through both at once.
func TestClusterUnfriendAppliesOnEveryNode(t *testing.T) {
	s := newStack(t)
	n1, n2 := s.start(t, "node-1"), s.start(t, "node-2")
	unfriendScenario(t, n1.base, n2.base)
}
