package domain_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/messenger-go/messenger/domain"
)

func TestFriendshipEnds(t *testing.T) {
	ended := domain.Friendship{UserID: alice, FriendID: bob, Status: domain.FriendNone, CreatedAt: t0, UpdatedAt: t1}
	type transition func(f domain.Friendship, by domain.UserID) (domain.Friendship, error)
	decline := func(f domain.Friendship, by domain.UserID) (domain.Friendship, error) { return f.Decline(by, t1) }
	cancel := func(f domain.Friendship, by domain.UserID) (domain.Friendship, error) { return f.Cancel(by, t1) }
	unfriend := func(f domain.Friendship, by domain.UserID) (domain.Friendship, error) { return f.Unfriend(by, t1) }
	tests := []struct {
		name string
		do   transition
		from domain.Friendship
		by   domain.UserID
		kind domain.Kind // KindInternal (the zero Kind): success, ending the relation
	}{
		{"the addressee declines", decline, aliceAskedBob, bob, 0},
		{"the requester cannot decline their own request", decline, aliceAskedBob, alice, domain.KindNotFound},
		{"nothing to decline", decline, none, bob, domain.KindNotFound},
		{"friends: nothing to decline", decline, friends, bob, domain.KindNotFound},
		{"a blocked pair cannot decline", decline, aliceBlockedBob, bob, domain.KindForbidden},

		{"the requester cancels", cancel, aliceAskedBob, alice, 0},
		{"the addressee cannot cancel", cancel, aliceAskedBob, bob, domain.KindNotFound},
		{"nothing to cancel", cancel, none, alice, domain.KindNotFound},
		{"friends: nothing to cancel", cancel, friends, alice, domain.KindNotFound},
		{"a block is not cancelled", cancel, bobBlockedAlice, alice, domain.KindForbidden},

		{"the requester unfriends", unfriend, friends, alice, 0},
		{"the addressee unfriends", unfriend, friends, bob, 0},
		{"a pending request is not a friendship", unfriend, aliceAskedBob, alice, domain.KindNotFound},
		{"no relation", unfriend, none, alice, domain.KindNotFound},
		{"a block is not lifted by unfriending", unfriend, aliceBlockedBob, alice, domain.KindForbidden},
		{"an outsider cannot unfriend", unfriend, friends, carol, domain.KindNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.do(tc.from, tc.by)
			if tc.kind != 0 {
				requireKind(t, err, tc.kind)
				assert.Equal(t, tc.from, got, "a refused transition leaves the relation as it was")
				return
			}
			assert.NoError(t, err)
			assert.Equal(t, ended, got)
			assert.False(t, got.Exists())
		})
	}
}
