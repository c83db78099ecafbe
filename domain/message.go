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
)

// MessageType says how clients render a message.
type MessageType string

const (
	MessageText   MessageType = "text"
	MessageImage  MessageType = "image"
	MessageFile   MessageType = "file"
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
// its conversation and its deterministic id. now is the send time.
func NewMessage(d Draft, now time.Time) (Message, error) {
	if err := ValidateText(d.Text); err != nil {
		return Message{}, err
	}
	typ, err := ParseMessageType(d.Type)
	if err != nil {
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
	}, nil
}

// Validate checks a message read back from a log or a store: the same rules as
// NewMessage, plus the consistency of its derived fields.
func (m Message) Validate() error {
	for _, id := range []UserID{m.SenderID, m.ReceiverID} {
		canon, err := ParseUserID(string(id))
		if err != nil {
			return err
		}
		if canon != id {
			return Errorf(KindInvalid, "user id %q is not in canonical form", clip(string(id)))
		}
	}
	if m.Sequence < 0 {
		return Errorf(KindInvalid, "negative sequence")
	}
	if err := ValidateText(m.Text); err != nil {
		return err
	}
	if _, err := ParseMessageType(string(m.Type)); err != nil || m.Type == "" {
		return Errorf(KindInvalid, "unknown messageType %q", clip(string(m.Type)))
	}
	if _, err := ValidateMetadata(m.Metadata); err != nil {
		return err
	}
	if err := ValidateClientMessageID(m.ClientMessageID); err != nil {
		return err
	}
	conv, err := NewConversationID(m.SenderID, m.ReceiverID)
	if err != nil {
		return err
	}
	if conv != m.ConversationID {
		return Errorf(KindInvalid, "conversation id does not match its members")
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
// most MaxMetadataBytes, with no NUL anywhere (PostgreSQL jsonb rejects \u0000).
// It returns the compacted object, or nil when there is none.
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
	if err := storableJSON(buf.Bytes()); err != nil {
		return nil, err
	}
	return json.RawMessage(buf.Bytes()), nil
}

// Bounds of PostgreSQL's numeric type, which jsonb numbers are stored as: digits
// before and after the decimal point.
const (
	maxNumericIntDigits  = 131072
	maxNumericFracDigits = 16383
)

// storableJSON checks what json.Valid lets through but PostgreSQL's jsonb
// refuses: the escape \u0000, unpaired UTF-16 surrogate escapes, and numbers
// beyond numeric's range. js must be valid, compact JSON.
func storableJSON(js []byte) error {
	inString := false
	for i := 0; i < len(js); i++ {
		c := js[i]
		switch {
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
			if !numericInRange(js[i:j]) {
				return Errorf(KindInvalid, "metadata contains a number out of range")
			}
			i = j - 1
		}
	}
	return nil
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

// numericInRange reports whether the JSON number fits PostgreSQL's numeric:
// |exponent| below 2^30-1 (checked before anything else, even for zero), a
// display scale (fraction digits minus exponent) of at most 16383 (even for
// zero), and at most 131072 digits before the decimal point.
func numericInRange(num []byte) bool {
	mant, exp, _ := bytes.Cut(bytes.ToLower(num), []byte("e"))
	mant = bytes.TrimPrefix(mant, []byte("-"))
	intPart, frac, _ := bytes.Cut(mant, []byte("."))
	e := 0
	if len(exp) > 0 {
		neg := exp[0] == '-'
		digits := bytes.TrimLeft(bytes.TrimLeft(exp, "+-"), "0")
		if len(digits) > 10 {
			return false
		}
		for _, d := range digits {
			e = e*10 + int(d-'0')
		}
		if e >= 1<<30-1 {
			return false
		}
		if neg {
			e = -e
		}
	}
	if len(frac)-e > maxNumericFracDigits {
		return false
	}
	if lead := bytes.TrimLeft(intPart, "0"); len(lead) > 0 {
		return len(lead)+e <= maxNumericIntDigits
	}
	zeros := len(frac) - len(bytes.TrimLeft(frac, "0"))
	if zeros == len(frac) {
		return true // zero
	}
	return e-zeros <= maxNumericIntDigits
}
