package domain

import (
	"bytes"
	"encoding/json"
	"strings"
	"time"
	"unicode/utf8"
)

// Limits on message content. They bound what one message may cost every layer
// behind the API (log record, row, socket frame).
const (
	MaxMessageBytes         = 8 << 10 // text of one message, in bytes of UTF-8
	MaxMetadataBytes        = 4 << 10 // metadata JSON of one message
	MaxClientMessageIDBytes = 128
	// MaxMetadataDepth bounds how deeply metadata nests objects and arrays,
	// the top object counting as 1: a few kilobytes of brackets nested a
	// thousand deep make a message that common JSON parsers refuse or
	// overflow their stack on, so every reader of the conversation would
	// fail on its history.
	MaxMetadataDepth = 32
)

// MessageType says how clients render a message.
type MessageType string

const (
	MessageText  MessageType = "text"
	MessageImage MessageType = "image"
	MessageFile  MessageType = "file"
	// MessageSystem marks a message the server writes (NewSystemMessage);
	// clients may not send it.
	MessageSystem MessageType = "system"
)

// ParseMessageType accepts a known type; the empty string means text.
func ParseMessageType(s string) (MessageType, error) {
	switch t := MessageType(s); t {
	case "":
		return MessageText, nil
	case MessageText, MessageImage, MessageFile, MessageSystem:
		return t, nil
	}
	return "", Errorf(KindInvalid, "unknown messageType %q", clip(s))
}

// Sequence is a message's position in its conversation: 1, 2, 3, ... with no gaps.
// Zero means "not yet sequenced" (a message still in the log).
type Sequence int64

// Message is one message of a conversation. Its JSON form is the wire contract.
type Message struct {
	ID              MessageID       `json:"messageId"`
	ClientMessageID string          `json:"clientMessageId"`
	ConversationID  ConversationID  `json:"conversationId"`
	Sequence        Sequence        `json:"sequenceId"`
	SenderID        UserID          `json:"senderId"`
	ReceiverID      UserID          `json:"receiverId"`
	Text            string          `json:"message"`
	Type            MessageType     `json:"messageType"`
	Metadata        json.RawMessage `json:"metadata"`
	SentAt          time.Time       `json:"timestamp"`
	DeliveredAt     *time.Time      `json:"deliveredAt"`
	ReadAt          *time.Time      `json:"readAt"`
	// Edits and deletion for everyone (message_change.go): Version is 1 as
	// sent and one more for each change; the others are set once it
	// happened.
	EditedAt  *time.Time `json:"editedAt,omitempty"`
	Version   int64      `json:"version,omitempty"`
	DeletedAt *time.Time `json:"deletedAt,omitempty"`
	DeletedBy UserID     `json:"-"`
}

// Draft is a message as the sender submits it, before validation.
type Draft struct {
	SenderID        UserID
	ReceiverID      UserID
	Text            string
	Type            string
	Metadata        json.RawMessage
	ClientMessageID string // optional; a random one is chosen when empty
}

// NewMessage validates d and returns the unsequenced message it describes, with
// its conversation and its deterministic id. now is the send time. It is the
// one validation of a message: SendMessage calls it when the core takes a
// message in, and every later layer (the log, the stores, the sockets) works
// on what it returned, rebuilt by RestoreMessage where it was kept. The type
// system is refused: it is the server's (NewSystemMessage), so that a client
// cannot pass its text off as the server's.
func NewMessage(d Draft, now time.Time) (Message, error) {
	typ, err := ParseMessageType(d.Type)
	if err != nil {
		return Message{}, err
	}
	if typ == MessageSystem {
		return Message{}, Errorf(KindInvalid, "messageType system is reserved for the server")
	}
	return newMessage(d, typ, now)
}

// NewSystemMessage is NewMessage for a message the server itself writes: its
// type is system, whatever d.Type says; every other rule applies. Never call
// it with a client's draft.
func NewSystemMessage(d Draft, now time.Time) (Message, error) {
	return newMessage(d, MessageSystem, now)
}

func newMessage(d Draft, typ MessageType, now time.Time) (Message, error) {
	if err := ValidateText(d.Text); err != nil {
		return Message{}, err
	}
	meta, err := ValidateMetadata(d.Metadata)
	if err != nil {
		return Message{}, err
	}
	sender, err := ParseUserID(string(d.SenderID))
	if err != nil {
		return Message{}, err
	}
	receiver, err := ParseUserID(string(d.ReceiverID))
	if err != nil {
		return Message{}, err
	}
	conv, err := NewConversationID(sender, receiver)
	if err != nil {
		return Message{}, err
	}
	cid := d.ClientMessageID
	if cid == "" {
		cid = NewUUID()
	} else if err := ValidateClientMessageID(cid); err != nil {
		return Message{}, err
	}
	return Message{
		ID:              DeriveMessageID(sender, cid),
		ClientMessageID: cid,
		ConversationID:  conv,
		SenderID:        sender,
		ReceiverID:      receiver,
		Text:            d.Text,
		Type:            typ,
		Metadata:        meta,
		SentAt:          now.UTC(),
		Version:         1,
	}, nil
}

// RestoreMessage rebuilds a message that NewMessage accepted earlier from what a
// store or the message log kept of it, given as the fields of kept. It trusts
// its source and runs none of NewMessage's rules again, so input from outside
// the system must go through NewMessage, never here. It only gives back the
// form NewMessage returns where keeping a message may change it: times in UTC,
// and empty metadata as none.
func RestoreMessage(kept Message) Message {
	m := kept
	m.SentAt = m.SentAt.UTC()
	m.DeliveredAt, m.ReadAt = utcPtr(m.DeliveredAt), utcPtr(m.ReadAt)
	if len(m.Metadata) == 0 {
		m.Metadata = nil
	}
	return m
}

// utcPtr returns t in UTC: t itself when it is already.
func utcPtr(t *time.Time) *time.Time {
	if t == nil || t.Location() == time.UTC {
		return t
	}
	u := t.UTC()
	return &u
}

// CheckIdentity checks the fields that make m one message and no other: its
// sender and receiver are canonical user ids, its conversation is theirs, its
// id is derived from its sender and a non-empty clientMessageId, and it has a
// send time. Stores find duplicates and count sequences by these fields, so a
// message read back from a source other processes write to (the message log)
// is checked for them before it is stored. Its content (text, type, metadata)
// is not checked: NewMessage did that before the message was published.
func (m Message) CheckIdentity() error {
	for _, id := range []UserID{m.SenderID, m.ReceiverID} {
		canon, err := ParseUserID(string(id))
		if err != nil {
			return err
		}
		if canon != id {
			return Errorf(KindInvalid, "user id %q is not in canonical form", clip(string(id)))
		}
	}
	conv, err := NewConversationID(m.SenderID, m.ReceiverID)
	if err != nil {
		return err
	}
	if conv != m.ConversationID {
		return Errorf(KindInvalid, "conversation id does not match its members")
	}
	if m.ClientMessageID == "" {
		return Errorf(KindInvalid, "clientMessageId is empty")
	}
	if m.ID != DeriveMessageID(m.SenderID, m.ClientMessageID) {
		return Errorf(KindInvalid, "message id does not match sender and clientMessageId")
	}
	if m.SentAt.IsZero() {
		return Errorf(KindInvalid, "message has no timestamp")
	}
	return nil
}

// ValidateText enforces the rules for message text: not blank, at most
// MaxMessageBytes, valid UTF-8, no NUL (which PostgreSQL text cannot hold).
func ValidateText(s string) error {
	if err := ValidateString("message", s, MaxMessageBytes); err != nil {
		return err
	}
	if strings.TrimSpace(s) == "" {
		return Errorf(KindInvalid, "message is empty")
	}
	return nil
}

// ValidateString checks that s is valid UTF-8 without NUL and at most max bytes.
func ValidateString(field, s string, max int) error {
	if len(s) > max {
		return Errorf(KindTooLarge, "%s exceeds %d bytes", field, max)
	}
	if !utf8.ValidString(s) {
		return Errorf(KindInvalid, "%s is not valid UTF-8", field)
	}
	if strings.IndexByte(s, 0) >= 0 {
		return Errorf(KindInvalid, "%s contains a NUL character", field)
	}
	return nil
}

// ValidateClientMessageID checks a client-chosen idempotency key.
func ValidateClientMessageID(s string) error {
	if s == "" {
		return Errorf(KindInvalid, "clientMessageId is empty")
	}
	return ValidateString("clientMessageId", s, MaxClientMessageIDBytes)
}

// ValidateMetadata checks optional metadata: a JSON object (or null/absent) of at
// most MaxMetadataBytes, valid UTF-8, nested at most MaxMetadataDepth deep,
// whose strings are Unicode text and whose numbers have an exponent of at most
// MaxMetadataExponent (see below). It returns the compacted object, or nil
// when there is none.
func ValidateMetadata(raw json.RawMessage) (json.RawMessage, error) {
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 || bytes.Equal(trimmed, []byte("null")) {
		return nil, nil
	}
	if len(trimmed) > MaxMetadataBytes {
		return nil, Errorf(KindTooLarge, "metadata exceeds %d bytes", MaxMetadataBytes)
	}
	if trimmed[0] != '{' || !json.Valid(trimmed) {
		return nil, Errorf(KindInvalid, "metadata must be a JSON object")
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, trimmed); err != nil {
		return nil, Errorf(KindInvalid, "metadata must be a JSON object")
	}
	if !utf8.Valid(buf.Bytes()) {
		return nil, Errorf(KindInvalid, "metadata is not valid UTF-8")
	}
	if err := checkJSONValues(buf.Bytes()); err != nil {
		return nil, err
	}
	return json.RawMessage(buf.Bytes()), nil
}

// MaxMetadataExponent bounds the exponent of a number in metadata. JSON puts no
// bound on numbers, but whatever keeps or reads them has one: a double
// overflows past 1e308, PostgreSQL's numeric holds 16383 digits after the
// point. This bound, with MaxMetadataBytes bounding the digits, keeps every
// accepted number inside what a store of messages can be expected to keep, so
// the API refuses such input before it is published (a 4xx, nothing in the
// log) instead of accepting a message that no store could then keep. A store
// checks its own exact limits besides.
const MaxMetadataExponent = 1000

// checkJSONValues checks what json.Valid lets through but metadata may not
// hold: nesting deeper than MaxMetadataDepth, the escape \u0000 (NUL, refused
// in every text field), a UTF-16 surrogate escape without its pair (not
// Unicode text), and a number whose exponent exceeds MaxMetadataExponent. js
// must be valid, compact JSON.
func checkJSONValues(js []byte) error {
	inString := false
	depth := 0
	for i := 0; i < len(js); i++ {
		c := js[i]
		switch {
		case !inString && (c == '{' || c == '['):
			if depth++; depth > MaxMetadataDepth {
				return Errorf(KindInvalid, "metadata nests deeper than %d levels", MaxMetadataDepth)
			}
		case !inString && (c == '}' || c == ']'):
			depth--
		case inString && c == '"':
			inString = false
		case inString && c == '\\':
			i++
			if js[i] != 'u' {
				continue
			}
			r := hex4(js[i+1 : i+5])
			i += 4
			switch {
			case r == 0:
				return Errorf(KindInvalid, "metadata contains a NUL character")
			case r >= 0xDC00 && r <= 0xDFFF:
				return Errorf(KindInvalid, "metadata contains an unpaired UTF-16 surrogate")
			case r >= 0xD800 && r <= 0xDBFF:
				if i+6 >= len(js) || js[i+1] != '\\' || js[i+2] != 'u' {
					return Errorf(KindInvalid, "metadata contains an unpaired UTF-16 surrogate")
				}
				if lo := hex4(js[i+3 : i+7]); lo < 0xDC00 || lo > 0xDFFF {
					return Errorf(KindInvalid, "metadata contains an unpaired UTF-16 surrogate")
				}
				i += 6
			}
		case inString:
		case c == '"':
			inString = true
		case c == '-' || ('0' <= c && c <= '9'):
			j := i
			for j < len(js) && bytes.IndexByte([]byte("+-.0123456789eE"), js[j]) >= 0 {
				j++
			}
			if !exponentInRange(js[i:j]) {
				return Errorf(KindInvalid, "metadata contains a number out of range")
			}
			i = j - 1
		}
	}
	return nil
}

// exponentInRange reports whether the exponent of the JSON number num is at
// most MaxMetadataExponent in magnitude.
func exponentInRange(num []byte) bool {
	at := bytes.IndexAny(num, "eE")
	if at < 0 {
		return true
	}
	exp := 0
	for _, d := range bytes.TrimLeft(num[at+1:], "+-") {
		exp = exp*10 + int(d-'0')
		if exp > MaxMetadataExponent {
			return false
		}
	}
	return true
}

// hex4 decodes four hex digits (valid JSON guarantees them).
func hex4(b []byte) rune {
	var r rune
	for _, c := range b {
		r <<= 4
		switch {
		case '0' <= c && c <= '9':
			r |= rune(c - '0')
		case 'a' <= c && c <= 'f':
			r |= rune(c - 'a' + 10)
		default:
			r |= rune(c - 'A' + 10)
		}
	}
	return r
}
