package domain

import (
	"errors"
	"fmt"
)

// Kind classifies an error so that adapters can translate it (to an HTTP status,
// a WebSocket close code, a retry decision) without knowing where it came from.
type Kind uint8

const (
	KindInternal        Kind = iota // a bug or an unexpected failure; details are logged, not shown
	KindInvalid                     // the input is malformed or breaks a rule
	KindUnauthenticated             // no valid credentials
	KindForbidden                   // authenticated, but not allowed (not friends, blocked, not a participant)
	KindNotFound                    // the thing does not exist (or is not visible to the caller)
	KindConflict                    // the thing already exists or the state does not allow the change
	KindTooLarge                    // the input exceeds a size limit
	KindRateLimited                 // too many requests; try later
	KindUnavailable                 // a dependency is down or timed out; retrying later may succeed
)

var kindNames = [...]string{
	KindInternal:        "internal",
	KindInvalid:         "invalid",
	KindUnauthenticated: "unauthenticated",
	KindForbidden:       "forbidden",
	KindNotFound:        "not_found",
	KindConflict:        "conflict",
	KindTooLarge:        "too_large",
	KindRateLimited:     "rate_limited",
	KindUnavailable:     "unavailable",
}

// String returns the stable, snake_case code used on the wire.
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "internal"
}

// Error is an error with a Kind and a message that is safe to show to clients.
// Err, when set, is the underlying cause; it is for logs only.
type Error struct {
	Kind    Kind
	Message string
	Err     error
}

func (e *Error) Error() string {
	switch {
	case e.Err != nil && e.Message != "":
		return e.Message + ": " + e.Err.Error()
	case e.Err != nil:
		return e.Err.Error()
	default:
		return e.Message
	}
}

func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is a *Error of the same kind with no message, so that
// errors.Is(err, domain.ErrNotFound) works for any not-found error.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Message == "" && t.Err == nil && t.Kind == e.Kind
}

// Sentinels for errors.Is checks by kind.
var (
	ErrInvalid         = &Error{Kind: KindInvalid}
	ErrUnauthenticated = &Error{Kind: KindUnauthenticated}
	ErrForbidden       = &Error{Kind: KindForbidden}
	ErrNotFound        = &Error{Kind: KindNotFound}
	ErrConflict        = &Error{Kind: KindConflict}
	ErrTooLarge        = &Error{Kind: KindTooLarge}
	ErrRateLimited     = &Error{Kind: KindRateLimited}
	ErrUnavailable     = &Error{Kind: KindUnavailable}
)

// Errorf builds an *Error of kind k with a client-safe message.
func Errorf(k Kind, format string, args ...any) error {
	return &Error{Kind: k, Message: fmt.Sprintf(format, args...)}
}

// Wrap attaches kind k and a client-safe message to cause. It returns nil when
// cause is nil.
func Wrap(k Kind, cause error, message string) error {
	if cause == nil {
		return nil
	}
	return &Error{Kind: k, Message: message, Err: cause}
}

// KindOf returns the kind of the first *Error in err's chain, KindInternal when
// there is none, and KindInternal for a nil error's caller to ignore.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindInternal
}

// MessageOf returns the client-safe message of err: the message of the first
// *Error in its chain that has one, or a generic text for internal errors.
func MessageOf(err error) string {
	var e *Error
	for cur := err; errors.As(cur, &e); cur = e.Err {
		if e.Kind == KindInternal {
			break
		}
		if e.Message != "" {
			return e.Message
		}
		if e.Err == nil {
			return e.Kind.String()
		}
	}
	return "internal error"
}
