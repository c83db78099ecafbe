package http_test

import (
	"context"

	"github.com/messenger-go/messenger/domain"
)

// lifecycleFake is the part of fakeService that serves the wire contract's
// second part, one function field per method; a nil field answers an
// internal error.
type lifecycleFake struct {
	declineFriendRequest func(ctx context.Context, by, requester domain.UserID) error
	cancelFriendRequest  func(ctx context.Context, by, addressee domain.UserID) error
	unfriend             func(ctx context.Context, by, other domain.UserID) error
}

func (f *lifecycleFake) DeclineFriendRequest(ctx context.Context, by, requester domain.UserID) error {
	if f.declineFriendRequest == nil {
		return errUnexpected
	}
	return f.declineFriendRequest(ctx, by, requester)
}

func (f *lifecycleFake) CancelFriendRequest(ctx context.Context, by, addressee domain.UserID) error {
	if f.cancelFriendRequest == nil {
		return errUnexpected
	}
	return f.cancelFriendRequest(ctx, by, addressee)
}

func (f *lifecycleFake) Unfriend(ctx context.Context, by, other domain.UserID) error {
	if f.unfriend == nil {
		return errUnexpected
	}
	return f.unfriend(ctx, by, other)
}
