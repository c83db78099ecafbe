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
	Send     Send
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

// Send is the data of `send {receiverId, message, messageType?, metadata?,
// clientMessageId}`: a message as POST /messages/send takes it. Only its
// shape is checked here (the use case validates the message); clientMessageId
// is required, since the answer, sendResult or error, is matched by it.
type Send struct {
	ReceiverID      domain.UserID
	Message         string
	MessageType     string
	Metadata        json.RawMessage
	ClientMessageID string
}

// Draft is the message s asks sender to send.
func (s Send) Draft(sender domain.UserID) domain.Draft {
	return domain.Draft{
		SenderID:        sender,
		ReceiverID:      s.ReceiverID,
		Text:            s.Message,
		Type:            s.MessageType,
		Metadata:        s.Metadata,
		ClientMessageID: s.ClientMessageID,
	}
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
	case domain.EventSend:
		in.Send, err = decodeSend(data)
	default:
		err = domain.Errorf(domain.KindInvalid, "unknown event %.64q", event)
	}
	if err != nil {
		// A refused send's clientMessageId, when it has one, stays: its
		// error answer carries it.
		return Inbound{Event: event, Send: Send{ClientMessageID: in.Send.ClientMessageID}}, err
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

// decodeSend returns the clientMessageId of data, when it has one, also
// with an error.
func decodeSend(data []byte) (Send, error) {
	var p struct {
		ReceiverID      string          `json:"receiverId"`
		Message         string          `json:"message"`
		MessageType     string          `json:"messageType"`
		Metadata        json.RawMessage `json:"metadata"`
		ClientMessageID string          `json:"clientMessageId"`
	}
	if err := decodeData(domain.EventSend, data, &p); err != nil {
		var id struct {
			ClientMessageID string `json:"clientMessageId"`
		}
		_ = json.Unmarshal(data, &id) // best effort, for the answer
		return Send{ClientMessageID: id.ClientMessageID}, err
	}
	if p.ClientMessageID == "" {
		return Send{}, domain.Errorf(domain.KindInvalid, "send needs a clientMessageId, which its answer carries")
	}
	return Send{
		ReceiverID:      domain.UserID(p.ReceiverID),
		Message:         p.Message,
		MessageType:     p.MessageType,
		Metadata:        p.Metadata,
		ClientMessageID: p.ClientMessageID,
	}, nil
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
