package wire

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"

	"github.com/messenger-go/messenger/domain"
)

// Inbound is a decoded client frame: Event names it, and the payload field of
// that event is set.
type Inbound struct {
	Event    string
	Typing   Typing
	JoinChat JoinChat
	Ack      Ack
	Resume   Resume
}

// Typing is the data of `typing {receiverId, isTyping}`.
type Typing struct {
	ReceiverID domain.UserID
	IsTyping   bool
}

// JoinChat is the data of `joinChat {conversationId}`.
type JoinChat struct {
	ConversationID domain.ConversationID
}

// Ack is the data of `ack {conversationId, upToSequenceId}`.
type Ack struct {
	ConversationID domain.ConversationID
	UpTo           domain.Sequence
}

// Resume is the data of `resume {conversations: {conversationId:
// lastSequenceId}}`: the last sequence the client holds per conversation.
type Resume struct {
	Conversations map[domain.ConversationID]domain.Sequence
}

// DecodeFrame decodes a client frame {"event": name, "data": {...}} and its
// payload. The frame must be valid UTF-8 without the NUL character, raw or
// escaped as \u0000, anywhere in it, and the event must be one a client
// sends. Errors: KindInvalid, with a message that says what is wrong.
func DecodeFrame(frame []byte) (Inbound, error) {
	if err := checkText(frame); err != nil {
		return Inbound{}, err
	}
	var env struct {
		Event string          `json:"event"`
		Data  json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(frame, &env); err != nil || env.Event == "" {
		return Inbound{}, domain.Errorf(domain.KindInvalid, `malformed frame: want {"event": name, "data": {...}}`)
	}
	return decodePayload(env.Event, env.Data)
}

// DecodePayload decodes the data of a client event for a transport whose
// envelope is another (Socket.IO's event arrays), with the same checks as
// DecodeFrame.
func DecodePayload(event string, data []byte) (Inbound, error) {
	if err := checkText([]byte(event)); err != nil {
		return Inbound{}, err
	}
	if err := checkText(data); err != nil {
		return Inbound{}, err
	}
	return decodePayload(event, data)
}

func decodePayload(event string, data []byte) (Inbound, error) {
	in := Inbound{Event: event}
	var err error
	switch event {
	case domain.EventTyping:
		in.Typing, err = decodeTyping(data)
	case domain.EventJoinChat:
		in.JoinChat, err = decodeJoinChat(data)
	case domain.EventAck:
		in.Ack, err = decodeAck(data)
	case domain.EventResume:
		in.Resume, err = decodeResume(data)
	default:
		err = domain.Errorf(domain.KindInvalid, "unknown event %.64q", event)
	}
	if err != nil {
		return Inbound{Event: event}, err
	}
	return in, nil
}

func decodeTyping(data []byte) (Typing, error) {
	var p struct {
		ReceiverID string `json:"receiverId"`
		IsTyping   bool   `json:"isTyping"`
	}
	if err := decodeData(domain.EventTyping, data, &p); err != nil {
		return Typing{}, err
	}
	receiver, err := domain.ParseUserID(p.ReceiverID)
	if err != nil {
		return Typing{}, err
	}
	return Typing{ReceiverID: receiver, IsTyping: p.IsTyping}, nil
}

func decodeJoinChat(data []byte) (JoinChat, error) {
	var p struct {
		ConversationID string `json:"conversationId"`
	}
	if err := decodeData(domain.EventJoinChat, data, &p); err != nil {
		return JoinChat{}, err
	}
	conv, err := domain.ParseConversationID(p.ConversationID)
	if err != nil {
		return JoinChat{}, err
	}
	return JoinChat{ConversationID: conv}, nil
}

func decodeAck(data []byte) (Ack, error) {
	var p struct {
		ConversationID string          `json:"conversationId"`
		UpTo           domain.Sequence `json:"upToSequenceId"`
	}
	if err := decodeData(domain.EventAck, data, &p); err != nil {
		return Ack{}, err
	}
	conv, err := domain.ParseConversationID(p.ConversationID)
	if err != nil {
		return Ack{}, err
	}
	if p.UpTo < 0 {
		return Ack{}, domain.Errorf(domain.KindInvalid, "upToSequenceId must not be negative")
	}
	return Ack{ConversationID: conv, UpTo: p.UpTo}, nil
}

// decodeResume keeps the later cursor when two spellings name one
// conversation.
func decodeResume(data []byte) (Resume, error) {
	var p struct {
		Conversations map[string]domain.Sequence `json:"conversations"`
	}
	if err := decodeData(domain.EventResume, data, &p); err != nil {
		return Resume{}, err
	}
	out := make(map[domain.ConversationID]domain.Sequence, len(p.Conversations))
	for raw, last := range p.Conversations {
		conv, err := domain.ParseConversationID(raw)
		if err != nil {
			return Resume{}, err
		}
		if last < 0 {
			return Resume{}, domain.Errorf(domain.KindInvalid, "lastSequenceId must not be negative")
		}
		if prev, ok := out[conv]; !ok || last > prev {
			out[conv] = last
		}
	}
	return Resume{Conversations: out}, nil
}

func decodeData(event string, data []byte, v any) error {
	if len(bytes.TrimSpace(data)) == 0 || string(data) == "null" {
		return domain.Errorf(domain.KindInvalid, "%s needs data", event)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return domain.Errorf(domain.KindInvalid, "malformed %s data", event)
	}
	return nil
}

// checkText refuses what encoding/json would let through: invalid UTF-8
// (which it replaces with U+FFFD) and the NUL character, which no text of the
// contract may hold.
func checkText(b []byte) error {
	if !utf8.Valid(b) {
		return domain.Errorf(domain.KindInvalid, "frame is not valid UTF-8")
	}
	if bytes.IndexByte(b, 0) >= 0 {
		return errNUL
	}
	// A backslash only occurs in JSON strings, where it starts an escape:
	// walking from one escape to the next never mistakes the text of an
	// escaped backslash ("\\u0000") for an escape.
	for i := bytes.IndexByte(b, '\\'); i >= 0 && i+1 < len(b); {
		if b[i+1] == 'u' && bytes.HasPrefix(b[i+2:], []byte("0000")) {
			return errNUL
		}
		next := bytes.IndexByte(b[i+2:], '\\')
		if next < 0 {
			break
		}
		i += 2 + next
	}
	return nil
}

var errNUL = domain.Errorf(domain.KindInvalid, `frame holds the NUL character (\u0000)`)
