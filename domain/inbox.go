package domain

// Page selects part of a conversation's history by sequence. A forward page
// (HasAfter) is the first Limit messages after After, which may be 0: "from
// the start". Otherwise it is the last Limit messages before Before, or the
// newest Limit messages when Before is 0. Results are always in ascending
// sequence order.
type Page struct {
	// Before, when positive, is an exclusive upper bound.
	Before Sequence
	// After is the exclusive lower bound of a forward page. It counts only
	// when HasAfter is set, so that "after 0" differs from "no cursor";
	// Normalize sets HasAfter when After is positive.
	After    Sequence
	HasAfter bool
	Limit    int
}

// PageAfter is the forward page of limit messages after the sequence after.
func PageAfter(after Sequence, limit int) Page {
	return Page{After: after, HasAfter: true, Limit: limit}
}

// Paging limits of history.
const (
	DefaultPageLimit = 50
	MaxPageLimit     = 200
)

// Normalize validates the page, fills the default limit and sets HasAfter
// when After is positive.
func (p Page) Normalize() (Page, error) {
	switch {
	case p.Before < 0 || p.After < 0:
		return p, Errorf(KindInvalid, "cursor must not be negative")
	case p.Limit < 0 || p.Limit > MaxPageLimit:
		return p, Errorf(KindInvalid, "limit must be between 1 and %d", MaxPageLimit)
	case p.Limit == 0:
		p.Limit = DefaultPageLimit
	}
	if p.After > 0 {
		p.HasAfter = true
	}
	if p.Before != 0 && p.HasAfter && p.Before <= p.After {
		return p, Errorf(KindInvalid, "before must be greater than after")
	}
	return p, nil
}

// UnreadCounts are a user's unread messages: those received with a sequence
// above the user's read watermark of their conversation.
type UnreadCounts struct {
	Total          int64                    `json:"unreadCount"`
	ByConversation map[ConversationID]int64 `json:"byConversation"`
}

// ConversationSummary is one row of a user's conversation list.
type ConversationSummary struct {
	ConversationID ConversationID `json:"conversationId"`
	Peer           User           `json:"peer"`
	LastMessage    Message        `json:"lastMessage"`
	UnreadCount    int64          `json:"unreadCount"`
}
