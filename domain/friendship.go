package domain

import "time"

// FriendshipStatus is the state of the relation between two users.
type FriendshipStatus string

const (
	FriendNone     FriendshipStatus = ""         // no relation (the zero value)
	FriendPending  FriendshipStatus = "pending"  // UserID asked FriendID
	FriendAccepted FriendshipStatus = "accepted" // both agreed
	FriendBlocked  FriendshipStatus = "blocked"  // BlockedBy blocked the other
)

// Friendship is the relation of one pair of users. UserID is the user who sent
// the request (or, for a block without a prior request, the blocker); FriendID is
// the other user. The JSON form is the wire contract's `friendship`.
type Friendship struct {
	UserID    UserID           `json:"userId"`
	FriendID  UserID           `json:"friendId"`
	Status    FriendshipStatus `json:"status"`
	BlockedBy UserID           `json:"-"`
	CreatedAt time.Time        `json:"createdAt"`
	UpdatedAt time.Time        `json:"updatedAt"`
}

// Exists reports whether there is any relation.
func (f Friendship) Exists() bool { return f.Status != FriendNone }

// Other returns the member of the pair that is not u.
func (f Friendship) Other(u UserID) UserID {
	if f.UserID == u {
		return f.FriendID
	}
	return f.UserID
}

// AreFriends reports whether the pair may exchange messages.
func (f Friendship) AreFriends() bool { return f.Status == FriendAccepted }

// Request applies "from asks to" to f, the current relation of the pair (zero
// when none). A request to someone who already asked you accepts theirs. The
// returned bool is true when the result is an acceptance rather than a new request.
func (f Friendship) Request(from, to UserID, now time.Time) (Friendship, bool, error) {
	if from == to {
		return f, false, Errorf(KindInvalid, "cannot befriend yourself")
	}
	switch f.Status {
	case FriendNone:
		return Friendship{UserID: from, FriendID: to, Status: FriendPending, CreatedAt: now, UpdatedAt: now}, false, nil
	case FriendPending:
		if f.UserID == from {
			return f, false, Errorf(KindConflict, "friend request already sent")
		}
		f.Status, f.UpdatedAt = FriendAccepted, now
		return f, true, nil
	case FriendAccepted:
		return f, false, Errorf(KindConflict, "already friends")
	case FriendBlocked:
		return f, false, Errorf(KindForbidden, "blocked")
	}
	return f, false, Errorf(KindInternal, "unknown friendship status %q", f.Status)
}

// Accept applies "by accepts the pending request of the other user".
func (f Friendship) Accept(by UserID, now time.Time) (Friendship, error) {
	switch {
	case f.Status == FriendPending && f.FriendID == by:
		f.Status, f.UpdatedAt = FriendAccepted, now
		return f, nil
	case f.Status == FriendAccepted:
		return f, Errorf(KindConflict, "already friends")
	case f.Status == FriendBlocked:
		return f, Errorf(KindForbidden, "blocked")
	}
	return f, Errorf(KindNotFound, "no pending friend request from this user")
}

// Block applies "by blocks other". Either side may block, whatever the state.
func (f Friendship) Block(by, other UserID, now time.Time) (Friendship, error) {
	if by == other {
		return f, Errorf(KindInvalid, "cannot block yourself")
	}
	if f.Status == FriendBlocked {
		if f.BlockedBy == by {
			return f, nil
		}
		return f, Errorf(KindForbidden, "blocked")
	}
	if !f.Exists() {
		f = Friendship{UserID: by, FriendID: other, CreatedAt: now}
	}
	f.Status, f.BlockedBy, f.UpdatedAt = FriendBlocked, by, now
	return f, nil
}

// Unblock lifts a block; only the blocker may. The pair ends with no relation.
func (f Friendship) Unblock(by UserID, now time.Time) (Friendship, error) {
	if f.Status != FriendBlocked || f.BlockedBy != by {
		return f, Errorf(KindNotFound, "no block to lift")
	}
	return Friendship{UserID: f.UserID, FriendID: f.FriendID, Status: FriendNone, CreatedAt: f.CreatedAt, UpdatedAt: now}, nil
}

// CanMessage checks that from may send to the other member of f.
func (f Friendship) CanMessage() error {
	switch f.Status {
	case FriendAccepted:
		return nil
	case FriendBlocked:
		return Errorf(KindForbidden, "blocked")
	}
	return Errorf(KindForbidden, "not friends")
}

// FriendRequest is a pending request as its addressee sees it: who asked, and when.
type FriendRequest struct {
	User      User      `json:"user"`
	CreatedAt time.Time `json:"createdAt"`
}
