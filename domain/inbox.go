package domain

// Page selects part of a conversation's history by sequence. Zero fields are
// unset. With After, it is the first Limit messages after it; otherwise the last
// Limit messages before Before (or the newest when Before is unset). Results are
// always in ascending sequence order.
type Page struct {
	Before Sequence
	After  Sequence
	Limit  int
}

// Paging limits of history.
const (
	DefaultPageLimit = 50
	MaxPageLimit     = 200
)

// Normalize validates the page and fills the default limit.
func (p Page) Normalize() (Page, error) {
	switch {
	case p.Before < 0 || p.After < 0:
		return p, Errorf(KindInvalid, "cursor must not be negative")
	case p.Limit < 0 || p.Limit > MaxPageLimit:
		return p, Errorf(KindInvalid, "limit must be between 1 and %d", MaxPageLimit)
	case p.Limit == 0:
		p.Limit = DefaultPageLimit
	}
	if p.Before != 0 && p.Before <= p.After {
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
