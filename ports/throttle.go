package ports

import (
	"context"
	"fmt"
	"time"

	"github.com/messenger-go/messenger/domain"
)

// Backoff is the policy a Throttle applies to one kind of attempt.
type Backoff struct {
	// Free is how many attempts a key may record before it has to wait.
	Free int
	// Delay is the wait imposed by the Free-th attempt (at least 1 ms); each
	// further attempt doubles it, up to MaxDelay.
	Delay    time.Duration
	MaxDelay time.Duration
	// Window is how long a key's count is kept after its last recorded
	// attempt; a key left alone that long starts again from zero. At least
	// MaxDelay, so that a key does not forget its count while it waits.
	Window time.Duration
}

// Validate reports a policy that cannot be applied. Errors: KindInvalid.
func (b Backoff) Validate() error {
	if b.Free < 1 || b.Delay < time.Millisecond || b.MaxDelay < b.Delay || b.Window < b.MaxDelay {
		return domain.Errorf(domain.KindInvalid, "backoff needs Free >= 1 and 1 ms <= Delay <= MaxDelay <= Window, got %+v", b)
	}
	return nil
}

// WaitAfter returns the wait imposed once count attempts are recorded: none
// below Free, then Delay, 2*Delay, 4*Delay ... capped at MaxDelay.
func (b Backoff) WaitAfter(count int64) time.Duration {
	if count < int64(b.Free) {
		return 0
	}
	wait := b.Delay
	for i := int64(b.Free); i < count && wait < b.MaxDelay; i++ {
		wait *= 2
	}
	return min(wait, b.MaxDelay)
}

// Throttle slows down repeated attempts under a key (failed logins of one
// account, registrations from one address): after a policy's free attempts,
// each recorded attempt makes the key wait, longer each time. Callers Check
// before the expensive or sensitive work, and Record after it when it counts
// against the key. Check and Record are not one atomic step: attempts that
// pass Check at the same moment all go ahead, so the work behind a throttle
// must be bounded on its own. Safe for concurrent use; an implementation
// shared by several nodes counts their attempts together.
type Throttle interface {
	// Check returns how long key must still wait before its next attempt:
	// zero when it may go ahead now. It records nothing. Errors:
	// KindUnavailable (callers fail open: an outage of the throttle must not
	// stop logins).
	Check(ctx context.Context, key string) (time.Duration, error)
	// Record counts one attempt of key under policy b and returns the wait it
	// imposes from now (zero while the count is below b.Free). The count is
	// forgotten b.Window after the last Record. Atomic: concurrent Records of
	// one key each count. Errors: KindInvalid (b fails Validate),
	// KindUnavailable.
	Record(ctx context.Context, key string, b Backoff) (time.Duration, error)
	// Reset forgets key's count and wait. Idempotent. Errors: KindUnavailable.
	Reset(ctx context.Context, key string) error
}

// LimitError is a KindRateLimited error that says when to try again; the
// HTTP adapter turns it into 429 with a Retry-After header.
type LimitError struct {
	err  *domain.Error
	wait time.Duration
}

// Limited returns a LimitError telling the caller to wait (rounded up to a
// whole second, the resolution of Retry-After).
func Limited(wait time.Duration, message string) error {
	wait = max((wait + time.Second - 1).Truncate(time.Second), time.Second)
	return &LimitError{
		err:  &domain.Error{Kind: domain.KindRateLimited, Message: fmt.Sprintf("%s; retry in %s", message, wait)},
		wait: wait,
	}
}

func (e *LimitError) Error() string { return e.err.Error() }

// Unwrap exposes the *domain.Error, so KindOf and MessageOf read it.
func (e *LimitError) Unwrap() error { return e.err }

// RetryAfter is how long the caller should wait.
func (e *LimitError) RetryAfter() time.Duration { return e.wait }
