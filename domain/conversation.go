package domain

import "strings"

// ConversationID identifies the 1:1 conversation of two users: their ids sorted
// and joined with an underscore, so both directions name the same conversation.
type ConversationID string

// conversationSep joins the two user ids. UUIDs never contain it.
const conversationSep = "_"

// NewConversationID returns the conversation of a and b. It fails when the ids
// are equal: nobody converses with themselves.
func NewConversationID(a, b UserID) (ConversationID, error) {
	if a == b {
		return "", Errorf(KindInvalid, "a conversation needs two different users")
	}
	if b < a {
		a, b = b, a
	}
	return ConversationID(string(a) + conversationSep + string(b)), nil
}

// ParseConversationID checks that s names a conversation of two distinct users
// and returns it in canonical form (lower case, sorted).
func ParseConversationID(s string) (ConversationID, error) {
	left, right, ok := strings.Cut(s, conversationSep)
	if !ok {
		return "", Errorf(KindInvalid, "invalid conversation id %q", clip(s))
	}
	a, errA := ParseUserID(left)
	b, errB := ParseUserID(right)
	if errA != nil || errB != nil || a == b {
		return "", Errorf(KindInvalid, "invalid conversation id %q", clip(s))
	}
	return NewConversationID(a, b)
}

// Members returns the two users of the conversation, in id order. For a value
// not built by NewConversationID or ParseConversationID the result is
// meaningless (parts of the string, possibly empty); Has and Peer stay safe.
func (c ConversationID) Members() (UserID, UserID) {
	a, b, _ := strings.Cut(string(c), conversationSep)
	return UserID(a), UserID(b)
}

// Has reports whether u is one of the two members.
func (c ConversationID) Has(u UserID) bool {
	a, b := c.Members()
	return u != "" && (u == a || u == b)
}

// Peer returns the member that is not u. It fails with KindForbidden when u is
// not a member.
func (c ConversationID) Peer(u UserID) (UserID, error) {
	if !c.Has(u) {
		return "", Errorf(KindForbidden, "not a participant of this conversation")
	}
	a, b := c.Members()
	switch u {
	case a:
		return b, nil
	case b:
		return a, nil
	}
	return "", Errorf(KindForbidden, "not a participant of this conversation")
}

func (c ConversationID) String() string { return string(c) }
