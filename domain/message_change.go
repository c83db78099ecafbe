package domain

import (
	"bytes"
	"encoding/json"
	"reflect"
	"time"
)

// ChangeKind says what a MessageChange does to a message.
type ChangeKind string

const (
	ChangeEdit   ChangeKind = "edit"   // new text, and metadata when SetMetadata
	ChangeDelete ChangeKind = "delete" // deletion for everyone: a tombstone
)

// MessageChange is an edit or a deletion for everyone of a stored message,
// as its sender asked for it. Its JSON form is a record of the message log,
// next to the messages of the same conversation (kind tells them apart), so
// that changes are applied in log order after the message they change.
type MessageChange struct {
	Kind           ChangeKind      `json:"kind"`
	MessageID      MessageID       `json:"messageId"`
	ConversationID ConversationID  `json:"conversationId"`
	By             UserID          `json:"by"`
	Text           string          `json:"message,omitempty"`
	Metadata       json.RawMessage `json:"metadata,omitempty"`
	SetMetadata    bool            `json:"setMetadata,omitempty"` // false: the metadata stays
	At             time.Time       `json:"at"`
}

// Edit is what a sender submits to edit a message: the new text, and new
// metadata when SetMetadata (a JSON object, or null to remove it).
type Edit struct {
	Text        string
	Metadata    json.RawMessage
	SetMetadata bool
}

// NewEdit validates e as an edit of m by by at at, and returns the change.
// The rules: only the sender edits, only a text message, not once deleted
// (CheckChange), and the new content follows NewMessage's rules.
// Errors: KindForbidden, KindConflict, KindInvalid, KindTooLarge.
func NewEdit(m Message, by UserID, e Edit, at time.Time) (MessageChange, error) {
	if err := m.CheckChange(by, ChangeEdit); err != nil {
		return MessageChange{}, err
	}
	if err := ValidateText(e.Text); err != nil {
		return MessageChange{}, err
	}
	c := MessageChange{Kind: ChangeEdit, MessageID: m.ID, ConversationID: m.ConversationID, By: by, Text: e.Text, At: at.UTC()}
	if e.SetMetadata {
		meta, err := ValidateMetadata(e.Metadata)
		if err != nil {
			return MessageChange{}, err
		}
		c.Metadata, c.SetMetadata = meta, true
	}
	return c, nil
}

// NewDeletion returns the deletion for everyone of m by by at at.
// Errors: KindForbidden (not the sender).
func NewDeletion(m Message, by UserID, at time.Time) (MessageChange, error) {
	if err := m.CheckChange(by, ChangeDelete); err != nil {
		return MessageChange{}, err
	}
	return MessageChange{Kind: ChangeDelete, MessageID: m.ID, ConversationID: m.ConversationID, By: by, At: at.UTC()}, nil
}

// CheckChange checks that by may make a change of kind to m: only its
// sender may, and an edit needs a text message that is not deleted.
// Deleting a deleted message is allowed (it changes nothing).
// Errors: KindForbidden, KindConflict, KindInvalid.
func (m Message) CheckChange(by UserID, kind ChangeKind) error {
	switch {
	case by != m.SenderID:
		return Errorf(KindForbidden, "only the sender may change a message")
	case kind == ChangeDelete:
		return nil
	case kind != ChangeEdit:
		return Errorf(KindInvalid, "unknown change %q", clip(string(kind)))
	case m.DeletedAt != nil:
		return Errorf(KindConflict, "the message was deleted")
	case m.Type != MessageText:
		return Errorf(KindInvalid, "only text messages can be edited")
	}
	return nil
}

// CheckIdentity checks the fields that name what c changes, for a change read
// back from the message log (as Message.CheckIdentity does for a message):
// a known kind, canonical ids, and a conversation its author belongs to.
func (c MessageChange) CheckIdentity() error {
	if c.Kind != ChangeEdit && c.Kind != ChangeDelete {
		return Errorf(KindInvalid, "unknown change %q", clip(string(c.Kind)))
	}
	if _, err := ParseMessageID(string(c.MessageID)); err != nil {
		return err
	}
	conv, err := ParseConversationID(string(c.ConversationID))
	if err != nil {
		return err
	}
	if by, err := ParseUserID(string(c.By)); err != nil || by != c.By {
		return Errorf(KindInvalid, "the author of a change must be a canonical user id")
	}
	if conv != c.ConversationID || !conv.Has(c.By) {
		return Errorf(KindInvalid, "the author of a change must belong to its conversation")
	}
	if c.At.IsZero() {
		return Errorf(KindInvalid, "change has no time")
	}
	return nil
}

// Apply returns m with c applied, and whether that changed it. An edit
// replaces the text (and the metadata when it sets it), stamps EditedAt
// and adds one to the version; an edit to the content m already has changes
// nothing (a retried edit). A deletion makes m a tombstone (Erased); a
// deletion of a tombstone changes nothing. Errors: those of CheckChange,
// and KindInvalid for a change of another message.
func (m Message) Apply(c MessageChange) (Message, bool, error) {
	if c.MessageID != m.ID || c.ConversationID != m.ConversationID {
		return m, false, Errorf(KindInvalid, "the change is of another message")
	}
	if err := m.CheckChange(c.By, c.Kind); err != nil {
		return m, false, err
	}
	if c.Kind == ChangeDelete {
		if m.DeletedAt != nil {
			return m, false, nil
		}
		return m.Erased(c.By, c.At), true, nil
	}
	meta := m.Metadata
	if c.SetMetadata {
		meta = c.Metadata
	}
	if c.Text == m.Text && sameJSON(meta, m.Metadata) {
		return m, false, nil
	}
	at := c.At.UTC()
	m.Text, m.Metadata, m.EditedAt = c.Text, meta, &at
	m.Version = max(m.Version, 1) + 1
	return m, true, nil
}

// sameJSON reports whether a and b are the same JSON value (a store may
// reformat metadata: key order, spacing); none and null are the same.
func sameJSON(a, b json.RawMessage) bool {
	a, b = bytes.TrimSpace(a), bytes.TrimSpace(b)
	if bytes.Equal(a, b) {
		return true
	}
	var va, vb any
	if len(a) > 0 && json.Unmarshal(a, &va) != nil || len(b) > 0 && json.Unmarshal(b, &vb) != nil {
		return false
	}
	return reflect.DeepEqual(va, vb)
}

// Erased returns m deleted for everyone: a tombstone deleted at at by by,
// with its text and metadata gone and its version one up. It keeps its
// sequence, so clients see no gap. A tombstone is returned as it is.
func (m Message) Erased(by UserID, at time.Time) Message {
	if m.DeletedAt != nil {
		return m
	}
	at = at.UTC()
	m.Text, m.Metadata = "", nil
	m.DeletedAt, m.DeletedBy = &at, by
	m.Version = max(m.Version, 1) + 1
	return m
}

// MessageDeleted is the data of messageDeleted: which message of which
// conversation became a tombstone, and when.
type MessageDeleted struct {
	ConversationID ConversationID `json:"conversationId"`
	MessageID      MessageID      `json:"messageId"`
	Sequence       Sequence       `json:"sequenceId"`
	DeletedAt      time.Time      `json:"deletedAt"`
}

// ChangeEvent is the event that tells the members of m's conversation of its
// last change: messageDeleted for a tombstone, messageEdited (the whole
// message) otherwise.
func ChangeEvent(m Message) Event {
	if m.DeletedAt != nil {
		return Event{Name: EventMessageDeleted, Data: MessageDeleted{
			ConversationID: m.ConversationID, MessageID: m.ID, Sequence: m.Sequence, DeletedAt: *m.DeletedAt,
		}}
	}
	return Event{Name: EventMessageEdited, Data: m}
}
