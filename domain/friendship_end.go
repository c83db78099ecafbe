package domain

import "time"

// Decline applies "by declines the pending request of the other user": the
// pair ends with no relation, and the requester may ask again. Only the
// addressee of a pending request may decline it.
func (f Friendship) Decline(by UserID, now time.Time) (Friendship, error) {
	switch {
	case f.Status == FriendPending && f.FriendID == by:
		return f.ended(now), nil
	case f.Status == FriendBlocked:
		return f, Errorf(KindForbidden, "blocked")
	}
	return f, Errorf(KindNotFound, "no pending friend request from this user")
}

// Cancel applies "by withdraws the request they sent": the pair ends with no
// relation. Only the requester may cancel.
func (f Friendship) Cancel(by UserID, now time.Time) (Friendship, error) {
	switch {
	case f.Status == FriendPending && f.UserID == by:
		return f.ended(now), nil
	case f.Status == FriendBlocked:
		return f, Errorf(KindForbidden, "blocked")
	}
	return f, Errorf(KindNotFound, "no pending friend request to this user")
}

// Unfriend applies "by ends the friendship": either friend may, and the pair
// ends with no relation (no messages either way, until they are friends
// again). A block is not lifted this way: only Unblock does that.
func (f Friendship) Unfriend(by UserID, now time.Time) (Friendship, error) {
	switch {
	case f.Status == FriendAccepted && (f.UserID == by || f.FriendID == by):
		return f.ended(now), nil
	case f.Status == FriendBlocked:
		return f, Errorf(KindForbidden, "blocked")
	}
	return f, Errorf(KindNotFound, "not friends")
}

// ended is f dissolved: the pair with no relation.
func (f Friendship) ended(now time.Time) Friendship {
	return Friendship{UserID: f.UserID, FriendID: f.FriendID, Status: FriendNone, CreatedAt: f.CreatedAt, UpdatedAt: now}
}
