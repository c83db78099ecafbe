package wire_test

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/wire"
)

// FuzzDecodeFrame checks, for any bytes, that decoding never panics, that a
// refusal is KindInvalid with a message, and that an accepted frame is valid
// UTF-8 JSON with no NUL in any key or string and a payload of canonical ids.
// Its seed corpus is in testdata/fuzz/FuzzDecodeFrame.
func FuzzDecodeFrame(f *testing.F) {
	f.Fuzz(func(t *testing.T, frame []byte) {
		in, err := wire.DecodeFrame(frame)
		if err != nil {
			if domain.KindOf(err) != domain.KindInvalid || domain.MessageOf(err) == "" {
				t.Fatalf("refusal %v: want KindInvalid with a message", err)
			}
			return
		}
		if !utf8.Valid(frame) {
			t.Fatalf("accepted invalid UTF-8 %q", frame)
		}
		var v any
		if err := json.Unmarshal(frame, &v); err != nil {
			t.Fatalf("accepted a frame that is not JSON: %q", frame)
		}
		if s, ok := nulString(v); ok {
			t.Fatalf("accepted NUL in %q of %q", s, frame)
		}
		checkCanonical(t, in)
	})
}

// FuzzDecodePayload is FuzzDecodeFrame for transports with an envelope of
// their own: an event name and its data, decoded apart.
func FuzzDecodePayload(f *testing.F) {
	for _, seed := range []struct{ event, data string }{
		{domain.EventTyping, `{"receiverId":"` + userB + `","isTyping":true}`},
		{domain.EventJoinChat, `{"conversationId":"` + conv + `"}`},
		{domain.EventAck, `{"conversationId":"` + conv + `","upToSequenceId":3}`},
		{domain.EventResume, `{"conversations":{"` + conv + `":2}}`},
		{domain.EventResume, `{"conversations":{}}`},
		{domain.EventAck, `null`},
		{domain.EventTyping, `{"receiverId":"\u0000"}`},
		{"typing\u0000", `{}`},
		{"newMessage", `{}`},
		{"ack\xff", `{}`},
	} {
		f.Add(seed.event, []byte(seed.data))
	}
	f.Fuzz(func(t *testing.T, event string, data []byte) {
		in, err := wire.DecodePayload(event, data)
		if err != nil {
			if domain.KindOf(err) != domain.KindInvalid || domain.MessageOf(err) == "" {
				t.Fatalf("refusal %v: want KindInvalid with a message", err)
			}
			return
		}
		if in.Event != event {
			t.Fatalf("decoded event %q from %q", in.Event, event)
		}
		if !utf8.Valid(data) || !utf8.ValidString(event) || strings.ContainsRune(event, 0) {
			t.Fatalf("accepted invalid text %q %q", event, data)
		}
		var v any
		if err := json.Unmarshal(data, &v); err != nil {
			t.Fatalf("accepted data that is not JSON: %q", data)
		}
		if s, ok := nulString(v); ok {
			t.Fatalf("accepted NUL in %q of %q", s, data)
		}
		checkCanonical(t, in)
	})
}

// nulString returns a key or string of v that holds NUL.
func nulString(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return v, strings.ContainsRune(v, 0)
	case []any:
		for _, e := range v {
			if s, ok := nulString(e); ok {
				return s, true
			}
		}
	case map[string]any:
		for k, e := range v {
			if strings.ContainsRune(k, 0) {
				return k, true
			}
			if s, ok := nulString(e); ok {
				return s, true
			}
		}
	}
	return "", false
}

// checkCanonical fails when an accepted payload holds an id that its parser
// would not give back unchanged, or a negative sequence.
func checkCanonical(t *testing.T, in wire.Inbound) {
	t.Helper()
	var convs []domain.ConversationID
	switch in.Event {
	case domain.EventTyping:
		if u, err := domain.ParseUserID(string(in.Typing.ReceiverID)); err != nil || u != in.Typing.ReceiverID {
			t.Fatalf("typing receiver %q is not canonical", in.Typing.ReceiverID)
		}
	case domain.EventJoinChat:
		convs = append(convs, in.JoinChat.ConversationID)
	case domain.EventAck:
		convs = append(convs, in.Ack.ConversationID)
		if in.Ack.UpTo < 0 {
			t.Fatalf("negative ack %d", in.Ack.UpTo)
		}
	case domain.EventResume:
		for c, last := range in.Resume.Conversations {
			convs = append(convs, c)
			if last < 0 {
				t.Fatalf("negative resume cursor %d", last)
			}
		}
	case domain.EventSend:
		if in.Send.ClientMessageID == "" {
			t.Fatalf("accepted a send without clientMessageId")
		}
	default:
		t.Fatalf("accepted unknown event %q", in.Event)
	}
	for _, c := range convs {
		if p, err := domain.ParseConversationID(string(c)); err != nil || p != c {
			t.Fatalf("conversation %q is not canonical", c)
		}
	}
}
