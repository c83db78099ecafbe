package domain

import "time"

// Friend is a friend as the friends list shows them: the user, whether they
// have a device connected now, and when they were last seen (now, when
// online; nil when never). The JSON form is `user` with online and
// lastSeenAt beside its fields.
type Friend struct {
	User
	Online     bool       `json:"online"`
	LastSeenAt *time.Time `json:"lastSeenAt"`
}

// PresencePayload is the data of presence: a friend came online (their first
// device connected) or went offline (their last one left, and stayed away a
// moment), and when they were last seen.
type PresencePayload struct {
	UserID     UserID     `json:"userId"`
	Online     bool       `json:"online"`
	LastSeenAt *time.Time `json:"lastSeenAt"`
}
