package ports

import (
	"context"
	"time"

	"github.com/messenger-go/messenger/domain"
)

// UserStore keeps accounts. All methods are safe for concurrent use.
type UserStore interface {
	// CreateUser stores u. Emails are compared as given (callers normalise them).
	// Errors: KindConflict when the email or id is taken.
	CreateUser(ctx context.Context, u domain.User) error
	// UserByID returns the user. Errors: KindNotFound.
	UserByID(ctx context.Context, id domain.UserID) (domain.User, error)
	// UserByEmail returns the user with that (normalised) email. Errors: KindNotFound.
	UserByEmail(ctx context.Context, email string) (domain.User, error)
	// SearchUsers returns up to limit users as caller sees them in a search:
	// those whose first or last name starts with query, or whose email is
	// query (ignoring case); never caller nor a user who blocked caller; with
	// Email empty for users who are not caller's friends, and no
	// PasswordHash; ordered by name then id.
	SearchUsers(ctx context.Context, query string, caller domain.UserID, limit int) ([]domain.User, error)
	// UpdateUser atomically reads the user, passes it to fn and stores what
	// fn returns: its names, PasswordHash, TokensValidAfter and LastSeenAt
	// (the id, the email and the creation time do not change). Concurrent
	// updates of one user are serialised; fn may be called more than once.
	// An error from fn aborts the update and is returned as is. Returns the
	// stored user. Errors: KindNotFound (no such user, or deleted),
	// KindInvalid (a name or hash the store cannot keep).
	UpdateUser(ctx context.Context, id domain.UserID, fn func(domain.User) (domain.User, error)) (domain.User, error)
	// DeleteUser erases the account atomically, across the stores of the
	// backend: its profile (the id stays, named as domain.DeletedUser), its
	// email (which may register again), its password and refresh tokens,
	// every relation with another user, and the content of every message it
	// sent (each becomes a tombstone deleted at at, by the user, as
	// domain.Message.Erased, no longer unread for its receiver). Messages
	// it received stay as they are, for their senders. From then on
	// UserByID and UserByEmail do not find it, SearchUsers and Friends do
	// not list it; conversations show it as domain.DeletedUser.
	// Errors: KindNotFound (no such user, or deleted already).
	DeleteUser(ctx context.Context, id domain.UserID, at time.Time) error
}

// FriendStore keeps the relation of each pair of users. All methods are safe
// for concurrent use.
type FriendStore interface {
	// Friendship returns the relation of a and b in either order; a zero
	// Friendship (Status FriendNone) when there is none, which is not an error.
	Friendship(ctx context.Context, a, b domain.UserID) (domain.Friendship, error)
	// UpdateFriendship atomically reads the relation of a and b, passes it to fn
	// (the zero value when none), and stores what fn returns; a result with
	// Status FriendNone deletes the relation. Concurrent updates of the same pair
	// are serialised: fn sees the state left by the previous update, and may be
	// called more than once. An error from fn aborts the update and is returned
	// as is. Returns the stored relation.
	UpdateFriendship(ctx context.Context, a, b domain.UserID, fn func(domain.Friendship) (domain.Friendship, error)) (domain.Friendship, error)
	// PendingRequests returns the pending requests addressed to user, oldest first.
	PendingRequests(ctx context.Context, user domain.UserID) ([]domain.FriendRequest, error)
	// Friends returns the users with an accepted relation to user, ordered by
	// name then id, each with LastSeenAt.
	Friends(ctx context.Context, user domain.UserID) ([]domain.User, error)
	// Relations returns every relation of user (requests either way,
	// friendships, blocks either way), oldest first (by CreatedAt, then the
	// other user's id).
	Relations(ctx context.Context, user domain.UserID) ([]domain.Friendship, error)
}

// RefreshToken is a stored refresh token. Only a hash of the token is kept.
// Tokens rotated from one login share a Family.
type RefreshToken struct {
	Hash      string
	UserID    domain.UserID
	Family    string
	ExpiresAt time.Time
}

// TokenStore keeps refresh tokens. All methods are safe for concurrent use.
type TokenStore interface {
	// CreateRefreshToken stores a new token (the first of its family).
	// Errors: KindConflict when the hash is already stored.
	CreateRefreshToken(ctx context.Context, t RefreshToken) error
	// RotateRefreshToken atomically retires the token with oldHash and stores
	// next in its place, taking the old token's user and family (next.UserID and
	// next.Family are ignored). It returns the user. A token first rotated less
	// than grace before now (another tab of the same login refreshing at the
	// same moment) is rotated again: next joins the family and the tokens of
	// the earlier rotations stay valid. Presenting a token rotated grace or
	// longer ago revokes its whole family (a stolen token was used). With
	// grace 0, exactly one of several concurrent rotations of the same token
	// succeeds. Errors: KindUnauthenticated when the token is unknown, expired
	// at now, rotated too long ago or revoked.
	RotateRefreshToken(ctx context.Context, oldHash string, next RefreshToken, now time.Time, grace time.Duration) (domain.UserID, error)
	// RevokeRefreshToken revokes the family of the token with hash. Idempotent;
	// an unknown hash is not an error.
	RevokeRefreshToken(ctx context.Context, hash string) error
	// RevokeUserTokens revokes every refresh token of user, of every family.
	// Idempotent; a user without tokens is not an error.
	RevokeUserTokens(ctx context.Context, user domain.UserID) error
}

// LogPosition is where a message sits in the log, kept with the row for audit.
type LogPosition struct {
	Partition int32
	Offset    int64
}

// Append is one message to store: unsequenced, with its log position. The
// message is one domain.NewMessage accepted (read back from the log with its
// identity checked); a store keeps it without validating it again.
type Append struct {
	Message  domain.Message
	Position LogPosition
}

// Appended is the stored form of an Append. Duplicate is true when the message
// (same sender and clientMessageId) was already stored; Message is then the
// stored row, with its original sequence.
type Appended struct {
	Message   domain.Message
	Duplicate bool
}

// Change is one edit or deletion for everyone of a stored message, read back
// from the log (where it follows the message it changes), with its position.
type Change struct {
	Change   domain.MessageChange
	Position LogPosition
}

// Changed is the outcome of a Change. Err is set when the change was refused
// (KindNotFound: no such message; and domain.Message.Apply's errors:
// KindForbidden, KindConflict, KindInvalid); otherwise Message is the stored
// message after it, and Applied says whether it changed anything (not: the
// same content again, a deleted message deleted again, or a change read
// again from the log).
type Changed struct {
	Message domain.Message
	Applied bool
	Err     error
}

// MessageStore keeps messages: the only store of undelivered messages and the
// authority on sequences. All methods are safe for concurrent use.
type MessageStore interface {
	// AppendBatch stores the batch atomically: all of it or nothing. A message
	// whose sender and clientMessageId (or message id) are already stored,
	// whether by an earlier batch or earlier in this one, is not stored again and
	// consumes no sequence. Each new message gets the next sequence of its
	// conversation, in batch order: sequences of a conversation are unique and
	// contiguous from 1, even when several callers append to it concurrently
	// (appends to one conversation are serialised). The result has one entry per
	// input, in input order.
	// Errors: KindInvalid for a message the store cannot keep: an id that is
	// not a UUID, or a limit the implementation documents (nothing is stored;
	// the caller sets the message aside); KindUnavailable when the store
	// cannot be reached (nothing is stored; retrying the same batch is safe).
	AppendBatch(ctx context.Context, batch []Append) ([]Appended, error)
	// History returns a page of conv's messages in ascending sequence order and
	// whether more messages lie beyond the page in its direction (older for a
	// Before or newest page, newer for an After page). page must be normalised.
	History(ctx context.Context, conv domain.ConversationID, page domain.Page) ([]domain.Message, bool, error)
	// MessageByID returns the stored message. Errors: KindNotFound,
	// KindInvalid (not a message id).
	MessageByID(ctx context.Context, id domain.MessageID) (domain.Message, error)
	// ApplyChanges applies the changes atomically, in order, each to the
	// state the previous ones left (domain.Message.Apply): an applied change
	// stores the message it returns, a tombstone is not unread any more, and
	// the change's position is kept with the message. A change at or before
	// the position of the last change applied to its message (in the same
	// partition: the log delivered it again) changes nothing, so a batch may
	// be applied again safely. A refused change is reported in its result and
	// the others are applied. The result has one entry per input, in input
	// order. Errors: KindUnavailable (nothing is applied; retrying is safe).
	ApplyChanges(ctx context.Context, changes []Change) ([]Changed, error)
	// ChangedSince returns conv's messages with a sequence at or below upTo
	// that were changed after the message upTo was appended, in log order
	// (a change from a later position of the same partition, or from
	// another partition), ascending by sequence; at most limit, the newest
	// changed ones when there are more. These are what a device that held
	// the conversation up to upTo may have missed. None when upTo is not
	// stored.
	ChangedSince(ctx context.Context, conv domain.ConversationID, upTo domain.Sequence, limit int) ([]domain.Message, error)
}

// ReceiptStore keeps each member's read and delivered watermarks. All methods
// are safe for concurrent use.
type ReceiptStore interface {
	// MarkRead advances reader's read watermark of conv to upTo (clamped to the
	// conversation's last sequence) and stamps readAt (and deliveredAt, if unset)
	// at on the messages reader received up to it. Watermarks never move back:
	// a lower upTo changes nothing. Read implies delivered: the delivered
	// watermark moves up to the read one too. It returns the read watermark
	// after the call and whether it advanced. Idempotent.
	MarkRead(ctx context.Context, conv domain.ConversationID, reader domain.UserID, upTo domain.Sequence, at time.Time) (domain.Sequence, bool, error)
	// MarkDelivered is MarkRead for the delivered watermark and deliveredAt.
	MarkDelivered(ctx context.Context, conv domain.ConversationID, receiver domain.UserID, upTo domain.Sequence, at time.Time) (domain.Sequence, bool, error)
}

// InboxStore answers a user's overview questions, exactly (it is the source of
// truth the unread cache is filled from). All methods are safe for concurrent use.
type InboxStore interface {
	// UnreadCounts counts, per conversation, the messages user received with a
	// sequence above user's read watermark. Conversations with none are omitted;
	// ByConversation is never nil.
	UnreadCounts(ctx context.Context, user domain.UserID) (domain.UnreadCounts, error)
	// Conversations lists user's conversations that have at least one message,
	// newest last message first, up to limit, each with the peer, the last
	// message and user's unread count.
	Conversations(ctx context.Context, user domain.UserID, limit int) ([]domain.ConversationSummary, error)
}
