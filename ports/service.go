package ports

import (
	"context"
	"net/netip"
	"time"

	"github.com/messenger-go/messenger/domain"
)

// Service is the driving port: every use case of the wire contract. The app
// package implements it; the HTTP and WebSocket adapters call it. Callers pass
// the authenticated user explicitly. All methods are safe for concurrent use and
// return domain errors whose kind the adapters translate.
type Service interface {
	Accounts
	Self
	Social
	Messaging
	Realtime
	Attachments
	Devices
}

// Tokens are the credentials a login yields.
type Tokens struct {
	AccessToken  string
	RefreshToken string
	ExpiresIn    time.Duration // lifetime of the access token
}

// Session is a user with fresh credentials.
type Session struct {
	User domain.User
	Tokens
}

// Accounts covers registration and authentication. from is the address of
// the client as the transport established it; the zero Addr (unknown) is
// exempt from the limits per address.
type Accounts interface {
	// Register creates an account and logs it in. Registrations are limited
	// per address. Errors: KindInvalid, KindTooLarge, KindConflict (email
	// taken), KindRateLimited (a *LimitError: too many from this address),
	// KindUnavailable (too many passwords are being hashed).
	Register(ctx context.Context, r domain.Registration, from netip.Addr) (Session, error)
	// Login checks credentials. Failed logins slow down further attempts, per
	// account and per address, before any password is hashed; a success
	// clears the account's count. Errors: KindUnauthenticated (the same for
	// an unknown email and a wrong password), KindRateLimited (a *LimitError:
	// the account or the address must wait), KindUnavailable (too many
	// passwords are being hashed).
	Login(ctx context.Context, email, password string, from netip.Addr) (Session, error)
	// Refresh rotates a refresh token: the old one stops working. Errors: KindUnauthenticated.
	Refresh(ctx context.Context, refreshToken string) (Tokens, error)
	// Logout revokes the refresh token's family. Idempotent.
	Logout(ctx context.Context, refreshToken string) error
	// Authenticate verifies an access token and returns its user and the time
	// from which the token is no longer accepted (a WebSocket opened with it
	// closes then). The token of a user that does not exist (any more) is
	// refused; whether a user exists is remembered for a short while, so a
	// user deleted on another node may be accepted that much longer.
	// Errors: KindUnauthenticated, KindUnavailable.
	Authenticate(ctx context.Context, accessToken string) (user domain.UserID, expires time.Time, err error)
}

// Self covers what users do to their own account. Revoking credentials
// (ChangePassword, LogoutAll, DeleteAccount) revokes every refresh token of
// the user, refuses the access tokens issued before it on every node (at once
// where the nodes announce account changes to each other), and closes every
// socket of the user with 4001; it returns once a token issued after it is
// accepted, which takes up to a second (issue times are whole seconds).
type Self interface {
	// Me returns the caller's profile. Errors: KindNotFound.
	Me(ctx context.Context, user domain.UserID) (domain.User, error)
	// UpdateMe changes the caller's names. Errors: KindInvalid, KindTooLarge.
	UpdateMe(ctx context.Context, user domain.UserID, p domain.ProfileUpdate) (domain.User, error)
	// ChangePassword replaces the password, given the current one, and
	// revokes the user's credentials. Wrong current passwords count as
	// failed logins of the account. Errors: KindInvalid (the new password),
	// KindForbidden (a wrong current password), KindRateLimited, KindUnavailable.
	ChangePassword(ctx context.Context, user domain.UserID, current, next string) error
	// LogoutAll revokes the user's credentials.
	LogoutAll(ctx context.Context, user domain.UserID) error
	// DeleteAccount erases the account (ports.UserStore.DeleteUser), given
	// its password: friendships end (the former friends get friendRemoved),
	// the messages it sent stay with their peers as tombstones from
	// domain.DeletedUser, the email may register again, and its credentials
	// are revoked. Errors: KindForbidden (a wrong password), KindRateLimited,
	// KindUnavailable.
	DeleteAccount(ctx context.Context, user domain.UserID, password string) error
	// ExportAccount returns everything kept about the user.
	ExportAccount(ctx context.Context, user domain.UserID) (domain.AccountExport, error)
}

// Social covers friends and blocks.
type Social interface {
	// SendFriendRequest asks to befriend to; if to already asked from, it accepts instead.
	// Errors: KindInvalid, KindNotFound (no such user), KindConflict, KindForbidden (blocked).
	SendFriendRequest(ctx context.Context, from, to domain.UserID) (domain.Friendship, error)
	// AcceptFriendRequest accepts requester's pending request to by.
	// Errors: KindNotFound (no pending request), KindConflict, KindForbidden.
	AcceptFriendRequest(ctx context.Context, by, requester domain.UserID) (domain.Friendship, error)
	// DeclineFriendRequest refuses requester's pending request to by; the pair
	// ends with no relation and requester is not told. Errors: KindInvalid,
	// KindNotFound (no pending request from requester), KindForbidden.
	DeclineFriendRequest(ctx context.Context, by, requester domain.UserID) error
	// CancelFriendRequest withdraws by's pending request to addressee.
	// Errors: KindInvalid, KindNotFound (no pending request to addressee),
	// KindForbidden.
	CancelFriendRequest(ctx context.Context, by, addressee domain.UserID) error
	// Unfriend ends the friendship of by and other: sends between them are
	// refused from then on, on every node at once, and both get
	// friendRemoved naming the other. Errors: KindInvalid, KindNotFound (not
	// friends), KindForbidden (blocked).
	Unfriend(ctx context.Context, by, other domain.UserID) error
	// Block blocks other: no messages or requests either way until unblocked.
	Block(ctx context.Context, by, other domain.UserID) (domain.Friendship, error)
	// Unblock lifts by's block of other. Errors: KindNotFound.
	Unblock(ctx context.Context, by, other domain.UserID) error
	// PendingRequests lists requests addressed to user, oldest first.
	PendingRequests(ctx context.Context, user domain.UserID) ([]domain.FriendRequest, error)
	// Friends lists user's friends, each with whether they are online (a
	// device connected on some node) and when they were last seen.
	Friends(ctx context.Context, user domain.UserID) ([]domain.Friend, error)
	// SearchUsers finds users by first or last name prefix or by exact email,
	// never the caller nor users who blocked the caller; the emails of users
	// who are not the caller's friends are left empty. Limited per caller.
	// Errors: KindInvalid, KindRateLimited.
	SearchUsers(ctx context.Context, caller domain.UserID, query string) ([]domain.User, error)
}

// SendReceipt is the answer to an accepted send.
type SendReceipt struct {
	MessageID       domain.MessageID      `json:"messageId"`
	ClientMessageID string                `json:"clientMessageId"`
	ConversationID  domain.ConversationID `json:"conversationId"`
	Status          string                `json:"status"`
}

// Messaging covers messages and receipts.
type Messaging interface {
	// SendMessage validates d and appends it to the log; it returns only after
	// the log accepted it. Retrying with the same ClientMessageID yields the same
	// MessageID and stores the message once. Errors: KindInvalid, KindTooLarge,
	// KindForbidden (not friends, blocked), KindRateLimited, KindUnavailable (the
	// log did not accept it; retry with the same ClientMessageID).
	SendMessage(ctx context.Context, d domain.Draft) (SendReceipt, error)
	// History returns a page of conv, which the caller must belong to, in
	// ascending sequence order, and whether more messages lie beyond it (see
	// domain.Page). Errors: KindInvalid (a page out of range), KindForbidden.
	History(ctx context.Context, caller domain.UserID, conv domain.ConversationID, page domain.Page) ([]domain.Message, bool, error)
	// MarkRead queues the caller's read watermark of conv to advance to upTo;
	// the peer gets a readReceipt once it is stored. Errors: KindInvalid, KindForbidden, KindUnavailable.
	MarkRead(ctx context.Context, caller domain.UserID, conv domain.ConversationID, upTo domain.Sequence) (domain.Watermark, error)
	// UnreadCount returns the caller's exact unread counts.
	UnreadCount(ctx context.Context, caller domain.UserID) (domain.UnreadCounts, error)
	// Conversations lists the caller's conversations, newest first.
	Conversations(ctx context.Context, caller domain.UserID) ([]domain.ConversationSummary, error)
	// EditMessage replaces the text (and the metadata, when e sets it) of a
	// text message the caller sent. Like a send, it is validated against the
	// store, appended to the log behind the message, and answered once the
	// log accepted it, with the message as the edit makes it (the version
	// the store held, plus one; an edit to the content the message has
	// already changes nothing); both members get messageEdited once it is
	// applied. Errors: KindNotFound (no such message, or not the caller's
	// conversation), KindForbidden (not the sender; not friends or blocked),
	// KindConflict (deleted), KindInvalid (not a text message; bad content),
	// KindTooLarge, KindRateLimited, KindUnavailable.
	EditMessage(ctx context.Context, caller domain.UserID, id domain.MessageID, e domain.Edit) (domain.Message, error)
	// DeleteMessage deletes a message the caller sent, for everyone,
	// through the log as EditMessage does; both members get messageDeleted,
	// and history keeps its sequence as a tombstone. Deleting a deleted
	// message succeeds and changes nothing. Errors: KindNotFound,
	// KindForbidden (not the sender), KindUnavailable.
	DeleteMessage(ctx context.Context, caller domain.UserID, id domain.MessageID) error
	// ChangedMessages returns the messages of conv, which the caller must
	// belong to, at or below upTo that changed after upTo was stored
	// (ports.MessageStore.ChangedSince): what a device resuming from upTo
	// may have missed of edits and deletions. Errors: KindForbidden.
	ChangedMessages(ctx context.Context, caller domain.UserID, conv domain.ConversationID, upTo domain.Sequence) ([]domain.Message, error)
}

// Realtime covers what connected devices send.
type Realtime interface {
	// Typing tells receiver that sender is (or stopped) typing. Ephemeral and
	// droppable. Errors: KindInvalid, KindForbidden (not friends).
	Typing(ctx context.Context, sender, receiver domain.UserID, isTyping bool) error
	// JoinChat checks that caller may follow conv. Errors: KindInvalid, KindForbidden.
	JoinChat(ctx context.Context, caller domain.UserID, conv domain.ConversationID) error
	// Ack records that caller's device received conv up to upTo and tells the
	// sender (messageDelivered). Monotonic and idempotent. Errors: KindInvalid, KindForbidden.
	Ack(ctx context.Context, caller domain.UserID, conv domain.ConversationID, upTo domain.Sequence) (domain.Watermark, error)
}

// Devices covers the push devices of the caller.
type Devices interface {
	// RegisterDevice registers a device of caller for push notifications. A
	// token registered already is that device (its id is answered again, with
	// the new preview); one registered by another user moves to caller.
	// Errors: KindInvalid, KindTooLarge, KindConflict (too many devices),
	// KindUnavailable (no device store).
	RegisterDevice(ctx context.Context, caller domain.UserID, r domain.DeviceRegistration) (domain.Device, error)
	// RemoveDevice unregisters caller's device id. Errors: KindInvalid,
	// KindNotFound (not caller's device), KindUnavailable.
	RemoveDevice(ctx context.Context, caller domain.UserID, id domain.DeviceID) error
}

// ConnectionWatcher hears from a transport when a user's first socket on this
// node opens and when the last one closes: the raw facts presence is made
// of. Calls for one user come in the order they happened; they must not
// block (App queues them). Safe for concurrent use.
type ConnectionWatcher interface {
	UserConnected(ctx context.Context, user domain.UserID)
	UserDisconnected(ctx context.Context, user domain.UserID)
}
