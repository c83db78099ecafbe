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
	me                   func(ctx context.Context, user domain.UserID) (domain.User, error)
	updateMe             func(ctx context.Context, user domain.UserID, p domain.ProfileUpdate) (domain.User, error)
	changePassword       func(ctx context.Context, user domain.UserID, current, next string) error
	logoutAll            func(ctx context.Context, user domain.UserID) error
	deleteAccount        func(ctx context.Context, user domain.UserID, password string) error
	exportAccount        func(ctx context.Context, user domain.UserID) (domain.AccountExport, error)
	editMessage          func(ctx context.Context, caller domain.UserID, id domain.MessageID, e domain.Edit) (domain.Message, error)
	deleteMessage        func(ctx context.Context, caller domain.UserID, id domain.MessageID) error
	friendsPresence      func(ctx context.Context, user domain.UserID) ([]domain.Friend, error)
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

func (f *lifecycleFake) Me(ctx context.Context, user domain.UserID) (domain.User, error) {
	if f.me == nil {
		return domain.User{}, errUnexpected
	}
	return f.me(ctx, user)
}

func (f *lifecycleFake) UpdateMe(ctx context.Context, user domain.UserID, p domain.ProfileUpdate) (domain.User, error) {
	if f.updateMe == nil {
		return domain.User{}, errUnexpected
	}
	return f.updateMe(ctx, user, p)
}

func (f *lifecycleFake) ChangePassword(ctx context.Context, user domain.UserID, current, next string) error {
	if f.changePassword == nil {
		return errUnexpected
	}
	return f.changePassword(ctx, user, current, next)
}

func (f *lifecycleFake) LogoutAll(ctx context.Context, user domain.UserID) error {
	if f.logoutAll == nil {
		return errUnexpected
	}
	return f.logoutAll(ctx, user)
}

func (f *lifecycleFake) DeleteAccount(ctx context.Context, user domain.UserID, password string) error {
	if f.deleteAccount == nil {
		return errUnexpected
	}
	return f.deleteAccount(ctx, user, password)
}

func (f *lifecycleFake) ExportAccount(ctx context.Context, user domain.UserID) (domain.AccountExport, error) {
	if f.exportAccount == nil {
		return domain.AccountExport{}, errUnexpected
	}
	return f.exportAccount(ctx, user)
}

func (f *lifecycleFake) EditMessage(ctx context.Context, caller domain.UserID, id domain.MessageID, e domain.Edit) (domain.Message, error) {
	if f.editMessage == nil {
		return domain.Message{}, errUnexpected
	}
	return f.editMessage(ctx, caller, id, e)
}

func (f *lifecycleFake) DeleteMessage(ctx context.Context, caller domain.UserID, id domain.MessageID) error {
	if f.deleteMessage == nil {
		return errUnexpected
	}
	return f.deleteMessage(ctx, caller, id)
}

// ChangedMessages is for the WebSocket's resumes; the REST API never calls it.
func (f *lifecycleFake) ChangedMessages(context.Context, domain.UserID, domain.ConversationID, domain.Sequence) ([]domain.Message, error) {
	return nil, errUnexpected
}
