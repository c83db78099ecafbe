package domain_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/domain"
)

var (
	t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	t1 = t0.Add(time.Hour)
)

// Relations of alice and bob, as the stores would hold them.
var (
	none            = domain.Friendship{}
	aliceAskedBob   = domain.Friendship{UserID: alice, FriendID: bob, Status: domain.FriendPending, CreatedAt: t0, UpdatedAt: t0}
	friends         = domain.Friendship{UserID: alice, FriendID: bob, Status: domain.FriendAccepted, CreatedAt: t0, UpdatedAt: t0}
	aliceBlockedBob = domain.Friendship{UserID: alice, FriendID: bob, Status: domain.FriendBlocked, BlockedBy: alice, CreatedAt: t0, UpdatedAt: t0}
	bobBlockedAlice = domain.Friendship{UserID: alice, FriendID: bob, Status: domain.FriendBlocked, BlockedBy: bob, CreatedAt: t0, UpdatedAt: t0}
	unknownStatus   = domain.Friendship{UserID: alice, FriendID: bob, Status: "weird", CreatedAt: t0, UpdatedAt: t0}
)

func TestFriendshipRequest(t *testing.T) {
	tests := []struct {
		name     string
		from     domain.Friendship
		by, to   domain.UserID
		want     domain.Friendship
		accepted bool
		kind     domain.Kind // KindInternal with want set means success
		fails    bool
	}{
		{name: "new request", from: none, by: alice, to: bob,
			want: domain.Friendship{UserID: alice, FriendID: bob, Status: domain.FriendPending, CreatedAt: t1, UpdatedAt: t1}},
		{name: "new request the other way", from: none, by: bob, to: alice,
			want: domain.Friendship{UserID: bob, FriendID: alice, Status: domain.FriendPending, CreatedAt: t1, UpdatedAt: t1}},
		{name: "crossing request accepts", from: aliceAskedBob, by: bob, to: alice, accepted: true,
			want: domain.Friendship{UserID: alice, FriendID: bob, Status: domain.FriendAccepted, CreatedAt: t0, UpdatedAt: t1}},
		{name: "repeated request", from: aliceAskedBob, by: alice, to: bob, fails: true, kind: domain.KindConflict},
		{name: "already friends, requester asks", from: friends, by: alice, to: bob, fails: true, kind: domain.KindConflict},
		{name: "already friends, addressee asks", from: friends, by: bob, to: alice, fails: true, kind: domain.KindConflict},
		{name: "blocker asks", from: aliceBlockedBob, by: alice, to: bob, fails: true, kind: domain.KindForbidden},
		{name: "blocked user asks", from: aliceBlockedBob, by: bob, to: alice, fails: true, kind: domain.KindForbidden},
		{name: "self", from: none, by: alice, to: alice, fails: true, kind: domain.KindInvalid},
		{name: "self while pending", from: aliceAskedBob, by: alice, to: alice, fails: true, kind: domain.KindInvalid},
		{name: "unknown status", from: unknownStatus, by: alice, to: bob, fails: true, kind: domain.KindInternal},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, accepted, err := tc.from.Request(tc.by, tc.to, t1)
			if tc.fails {
				requireKind(t, err, tc.kind)
				assert.False(t, accepted)
				assert.Equal(t, tc.from, got, "a refused transition leaves the relation as it was")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
			assert.Equal(t, tc.accepted, accepted)
		})
	}
}

func TestFriendshipAccept(t *testing.T) {
	tests := []struct {
		name  string
		from  domain.Friendship
		by    domain.UserID
		want  domain.Friendship
		fails bool
		kind  domain.Kind
	}{
		{name: "addressee accepts", from: aliceAskedBob, by: bob,
			want: domain.Friendship{UserID: alice, FriendID: bob, Status: domain.FriendAccepted, CreatedAt: t0, UpdatedAt: t1}},
		{name: "requester cannot accept own request", from: aliceAskedBob, by: alice, fails: true, kind: domain.KindNotFound},
		{name: "outsider cannot accept", from: aliceAskedBob, by: carol, fails: true, kind: domain.KindNotFound},
		{name: "nothing to accept", from: none, by: bob, fails: true, kind: domain.KindNotFound},
		{name: "already friends", from: friends, by: bob, fails: true, kind: domain.KindConflict},
		{name: "blocked", from: aliceBlockedBob, by: bob, fails: true, kind: domain.KindForbidden},
		{name: "blocker", from: aliceBlockedBob, by: alice, fails: true, kind: domain.KindForbidden},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.from.Accept(tc.by, t1)
			if tc.fails {
				requireKind(t, err, tc.kind)
				assert.Equal(t, tc.from, got)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
			assert.True(t, got.AreFriends())
			require.NoError(t, got.CanMessage())
		})
	}
}

func TestFriendshipBlock(t *testing.T) {
	tests := []struct {
		name      string
		from      domain.Friendship
		by, other domain.UserID
		want      domain.Friendship
		fails     bool
		kind      domain.Kind
	}{
		{name: "block a stranger", from: none, by: bob, other: alice,
			want: domain.Friendship{UserID: bob, FriendID: alice, Status: domain.FriendBlocked, BlockedBy: bob, CreatedAt: t1, UpdatedAt: t1}},
		{name: "requester blocks while pending", from: aliceAskedBob, by: alice, other: bob,
			want: domain.Friendship{UserID: alice, FriendID: bob, Status: domain.FriendBlocked, BlockedBy: alice, CreatedAt: t0, UpdatedAt: t1}},
		{name: "addressee blocks while pending", from: aliceAskedBob, by: bob, other: alice,
			want: domain.Friendship{UserID: alice, FriendID: bob, Status: domain.FriendBlocked, BlockedBy: bob, CreatedAt: t0, UpdatedAt: t1}},
		{name: "requester blocks a friend", from: friends, by: alice, other: bob,
			want: domain.Friendship{UserID: alice, FriendID: bob, Status: domain.FriendBlocked, BlockedBy: alice, CreatedAt: t0, UpdatedAt: t1}},
		{name: "addressee blocks a friend", from: friends, by: bob, other: alice,
			want: domain.Friendship{UserID: alice, FriendID: bob, Status: domain.FriendBlocked, BlockedBy: bob, CreatedAt: t0, UpdatedAt: t1}},
		{name: "blocking again is a no-op", from: aliceBlockedBob, by: alice, other: bob, want: aliceBlockedBob},
		{name: "the blocked user cannot block back", from: aliceBlockedBob, by: bob, other: alice, fails: true, kind: domain.KindForbidden},
		{name: "self", from: none, by: alice, other: alice, fails: true, kind: domain.KindInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.from.Block(tc.by, tc.other, t1)
			if tc.fails {
				requireKind(t, err, tc.kind)
				assert.Equal(t, tc.from, got)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
			assert.True(t, got.Exists())
			assert.False(t, got.AreFriends())
			requireKind(t, got.CanMessage(), domain.KindForbidden)
		})
	}
}

func TestFriendshipUnblock(t *testing.T) {
	tests := []struct {
		name  string
		from  domain.Friendship
		by    domain.UserID
		fails bool
	}{
		{name: "blocker lifts the block", from: aliceBlockedBob, by: alice},
		{name: "blocker who was the addressee lifts the block", from: bobBlockedAlice, by: bob},
		{name: "blocked user cannot lift it", from: aliceBlockedBob, by: bob, fails: true},
		{name: "outsider cannot lift it", from: aliceBlockedBob, by: carol, fails: true},
		{name: "nothing blocked", from: friends, by: alice, fails: true},
		{name: "pending is not a block", from: aliceAskedBob, by: alice, fails: true},
		{name: "no relation", from: none, by: alice, fails: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.from.Unblock(tc.by, t1)
			if tc.fails {
				requireKind(t, err, domain.KindNotFound)
				assert.Equal(t, tc.from, got)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, domain.Friendship{UserID: tc.from.UserID, FriendID: tc.from.FriendID, CreatedAt: t0, UpdatedAt: t1}, got)
			assert.False(t, got.Exists(), "an unblocked pair has no relation")
			assert.Empty(t, got.BlockedBy)
			requireKind(t, got.CanMessage(), domain.KindForbidden)

			// After the block is lifted, either side may ask again.
			again, accepted, err := got.Request(tc.by, got.Other(tc.by), t1)
			require.NoError(t, err)
			assert.False(t, accepted)
			assert.Equal(t, domain.FriendPending, again.Status)
		})
	}
}

func TestFriendshipCanMessage(t *testing.T) {
	tests := []struct {
		name string
		f    domain.Friendship
		ok   bool
	}{
		{"friends", friends, true},
		{"no relation", none, false},
		{"pending", aliceAskedBob, false},
		{"blocked by one", aliceBlockedBob, false},
		{"blocked by the other", bobBlockedAlice, false},
		{"unknown status", unknownStatus, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.f.CanMessage()
			assert.Equal(t, tc.ok, tc.f.AreFriends())
			if tc.ok {
				require.NoError(t, err)
				return
			}
			requireKind(t, err, domain.KindForbidden)
		})
	}
}

func TestFriendshipExistsAndOther(t *testing.T) {
	assert.False(t, none.Exists())
	for _, f := range []domain.Friendship{aliceAskedBob, friends, aliceBlockedBob} {
		assert.True(t, f.Exists(), "status %q", f.Status)
	}
	assert.Equal(t, bob, friends.Other(alice))
	assert.Equal(t, alice, friends.Other(bob))
}

// A full life: request, crossing request, block, unblock, request, accept.
func TestFriendshipLifecycle(t *testing.T) {
	f, accepted, err := domain.Friendship{}.Request(alice, bob, t0)
	require.NoError(t, err)
	require.False(t, accepted)
	requireKind(t, f.CanMessage(), domain.KindForbidden)

	f, accepted, err = f.Request(bob, alice, t1)
	require.NoError(t, err)
	require.True(t, accepted)
	require.NoError(t, f.CanMessage())

	f, err = f.Block(bob, alice, t1)
	require.NoError(t, err)
	requireKind(t, f.CanMessage(), domain.KindForbidden)
	_, _, err = f.Request(alice, bob, t1)
	requireKind(t, err, domain.KindForbidden)

	f, err = f.Unblock(bob, t1)
	require.NoError(t, err)
	f, _, err = f.Request(bob, alice, t1)
	require.NoError(t, err)
	f, err = f.Accept(alice, t1)
	require.NoError(t, err)
	require.NoError(t, f.CanMessage())
	assert.Equal(t, bob, f.UserID, "the latest requester is UserID")
}

func TestFriendshipJSON(t *testing.T) {
	raw, err := json.Marshal(aliceBlockedBob)
	require.NoError(t, err)
	assert.JSONEq(t, `{"userId":"`+string(alice)+`","friendId":"`+string(bob)+`","status":"blocked",`+
		`"createdAt":"2026-01-01T00:00:00Z","updatedAt":"2026-01-01T00:00:00Z"}`, string(raw),
		"who blocked whom is not shown")

	raw, err = json.Marshal(domain.FriendRequest{User: domain.User{ID: alice, FirstName: "A", LastName: "L", Email: "a@x.io"}, CreatedAt: t0})
	require.NoError(t, err)
	assert.JSONEq(t, `{"user":{"id":"`+string(alice)+`","firstName":"A","lastName":"L","email":"a@x.io"},"createdAt":"2026-01-01T00:00:00Z"}`, string(raw))
}
