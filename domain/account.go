package domain

import (
	"strings"
	"time"
)

// The profile a deleted account leaves behind: its id stays on the messages
// it exchanged, shown as from this name, and nothing else of it is kept.
const (
	DeletedUserFirstName = "Deleted"
	DeletedUserLastName  = "user"
)

// DeletedUser is the profile of a deleted account, as its peers see it.
func DeletedUser(id UserID) User {
	return User{ID: id, FirstName: DeletedUserFirstName, LastName: DeletedUserLastName}
}

// ProfileUpdate is a change of a user's own profile; a nil field is left as
// it is. The email is the account's login and does not change this way.
type ProfileUpdate struct {
	FirstName *string
	LastName  *string
}

// Apply validates the update and returns u with it applied: names trimmed,
// non-empty, at most MaxNameBytes.
func (p ProfileUpdate) Apply(u User) (User, error) {
	for _, f := range []struct {
		name string
		v    *string
		dst  *string
	}{{"firstName", p.FirstName, &u.FirstName}, {"lastName", p.LastName, &u.LastName}} {
		if f.v == nil {
			continue
		}
		v := strings.TrimSpace(*f.v)
		if v == "" {
			return u, Errorf(KindInvalid, "%s must not be empty", f.name)
		}
		if err := ValidateString(f.name, v, MaxNameBytes); err != nil {
			return u, err
		}
		*f.dst = v
	}
	return u, nil
}

// TokensCutoff is the TokensValidAfter that refuses every access token issued
// up to now and none issued after it: token issue times are whole seconds
// (the iat claim), so the cutoff is the next whole second, and tokens issued
// within the current one are refused too.
func TokensCutoff(now time.Time) time.Time {
	return now.UTC().Truncate(time.Second).Add(time.Second)
}

// IssuedBefore reports whether a token issued at issuedAt predates u's
// TokensValidAfter. A zero issuedAt (not known) predates nothing.
func (u User) IssuedBefore(issuedAt time.Time) bool {
	return !issuedAt.IsZero() && issuedAt.Before(u.TokensValidAfter)
}

// AccountExport is everything the service keeps about a user, as the user
// may take it away: the profile, every relation with another user, and
// every message the user sent or received (deleted ones as tombstones),
// by conversation and sequence.
type AccountExport struct {
	ExportedAt  time.Time    `json:"exportedAt"`
	User        User         `json:"user"`
	Friendships []Friendship `json:"friendships"`
	Messages    []Message    `json:"messages"`
}

// SignalCloseSessions names a control event: a Notifier carries it to the
// nodes holding sockets of its users like any event, and the transports,
// instead of writing it, close every socket of those users with the close
// code of KindUnauthenticated (4001). Credentials were revoked (a password
// change, a log out everywhere, a deleted account): the client logs in
// again. Its data is a SessionsClosed.
const SignalCloseSessions = "$closeSessions"

// SessionsClosed is the data of SignalCloseSessions: the close reason.
type SessionsClosed struct {
	Reason string `json:"reason"`
}
