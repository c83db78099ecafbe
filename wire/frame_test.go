package wire_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/wire"
)

const (
	userA = "11111111-1111-4111-8111-111111111111"
	userB = "22222222-2222-4222-8222-222222222222"
	conv  = userA + "_" + userB
)

func TestDecodeFrame(t *testing.T) {
	tests := []struct {
		name  string
		frame string
		want  wire.Inbound
	}{
		{"typing", `{"event":"typing","data":{"receiverId":"` + userB + `","isTyping":true}}`,
			wire.Inbound{Event: "typing", Typing: wire.Typing{ReceiverID: userB, IsTyping: true}}},
		{"typing with an upper-case id", `{"event":"typing","data":{"receiverId":"AAAAAAAA-AAAA-4AAA-8AAA-AAAAAAAAAAAA","isTyping":false}}`,
			wire.Inbound{Event: "typing", Typing: wire.Typing{ReceiverID: "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"}}},
		{"joinChat", `{"event":"joinChat","data":{"conversationId":"` + conv + `"}}`,
			wire.Inbound{Event: "joinChat", JoinChat: wire.JoinChat{ConversationID: conv}}},
		{"joinChat in the other order", `{"event":"joinChat","data":{"conversationId":"` + userB + "_" + userA + `"}}`,
			wire.Inbound{Event: "joinChat", JoinChat: wire.JoinChat{ConversationID: conv}}},
		{"ack", `{"event":"ack","data":{"conversationId":"` + conv + `","upToSequenceId":7}}`,
			wire.Inbound{Event: "ack", Ack: wire.Ack{ConversationID: conv, UpTo: 7}}},
		{"resume", `{"event":"resume","data":{"conversations":{"` + conv + `":3}}}`,
			wire.Inbound{Event: "resume", Resume: wire.Resume{Conversations: map[domain.ConversationID]domain.Sequence{conv: 3}}}},
		{"empty resume", `{"event":"resume","data":{"conversations":{}}}`,
			wire.Inbound{Event: "resume", Resume: wire.Resume{Conversations: map[domain.ConversationID]domain.Sequence{}}}},
		{"resume naming one conversation twice keeps the later cursor", `{"event":"resume","data":{"conversations":{"` + conv + `":3,"` + userB + "_" + userA + `":5}}}`,
			wire.Inbound{Event: "resume", Resume: wire.Resume{Conversations: map[domain.ConversationID]domain.Sequence{conv: 5}}}},
		{"send", `{"event":"send","data":{"receiverId":"` + userB + `","message":"hi","messageType":"image","metadata":{"w":1},"clientMessageId":"c-1"}}`,
			wire.Inbound{Event: "send", Send: wire.Send{ReceiverID: userB, Message: "hi", MessageType: "image", Metadata: []byte(`{"w":1}`), ClientMessageID: "c-1"}}},
		{"send leaves the message's rules to the use case", `{"event":"send","data":{"receiverId":"bob","clientMessageId":"c-2"}}`,
			wire.Inbound{Event: "send", Send: wire.Send{ReceiverID: "bob", ClientMessageID: "c-2"}}},
		{"unknown fields are ignored", `{"event":"joinChat","data":{"conversationId":"` + conv + `","x":[1]},"id":9}`,
			wire.Inbound{Event: "joinChat", JoinChat: wire.JoinChat{ConversationID: conv}}},
		{"an escaped backslash before u0000 is text, not NUL", `{"event":"joinChat","data":{"conversationId":"` + conv + `","note":"\\u0000"}}`,
			wire.Inbound{Event: "joinChat", JoinChat: wire.JoinChat{ConversationID: conv}}},
		{"other escapes are fine", `{"event":"joinChat","data":{"conversationId":"` + conv + `","note":"\u00e9\n\\\"\u0001"}}`,
			wire.Inbound{Event: "joinChat", JoinChat: wire.JoinChat{ConversationID: conv}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := wire.DecodeFrame([]byte(tt.frame))
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestDecodeFrameRefuses(t *testing.T) {
	tests := []struct {
		name    string
		frame   string
		message string // the start of the error's message
	}{
		{"not JSON", `{oops`, "malformed frame"},
		{"JSON array", `[1,2]`, "malformed frame"},
		{"no event", `{"data":{}}`, "malformed frame"},
		{"unknown event", `{"event":"dance","data":{}}`, `unknown event "dance"`},
		{"server event sent by a client", `{"event":"newMessage","data":{}}`, `unknown event "newMessage"`},
		{"typing without data", `{"event":"typing"}`, "typing needs data"},
		{"typing with null data", `{"event":"typing","data":null}`, "typing needs data"},
		{"typing data not an object", `{"event":"typing","data":5}`, "malformed typing data"},
		{"typing bad receiver", `{"event":"typing","data":{"receiverId":"bob","isTyping":true}}`, ""},
		{"joinChat bad conversation", `{"event":"joinChat","data":{"conversationId":"a_b"}}`, ""},
		{"joinChat missing conversation", `{"event":"joinChat","data":{}}`, ""},
		{"ack negative sequence", `{"event":"ack","data":{"conversationId":"` + conv + `","upToSequenceId":-1}}`, "upToSequenceId must not be negative"},
		{"ack sequence not a number", `{"event":"ack","data":{"conversationId":"` + conv + `","upToSequenceId":"x"}}`, "malformed ack data"},
		{"resume bad conversation", `{"event":"resume","data":{"conversations":{"nope":1}}}`, ""},
		{"resume negative cursor", `{"event":"resume","data":{"conversations":{"` + conv + `":-3}}}`, "lastSequenceId must not be negative"},
		{"send without clientMessageId", `{"event":"send","data":{"receiverId":"` + userB + `","message":"hi"}}`, "send needs a clientMessageId"},
		{"send without data", `{"event":"send"}`, "send needs data"},
		{"send data not an object", `{"event":"send","data":[1]}`, "malformed send data"},
		{"binary garbage", "\x00\x01\x02", "frame holds the NUL character"},
		{"invalid UTF-8 in a string", "{\"event\":\"joinChat\",\"data\":{\"conversationId\":\"" + conv + "\",\"note\":\"\xff\"}}", "frame is not valid UTF-8"},
		{"invalid UTF-8 in the event", "{\"event\":\"typ\xc3ing\",\"data\":{}}", "frame is not valid UTF-8"},
		{"escaped NUL in an ignored field", `{"event":"joinChat","data":{"conversationId":"` + conv + `","note":"a\u0000b"}}`, "frame holds the NUL character"},
		{"escaped NUL in the event", `{"event":"typing\u0000","data":{}}`, "frame holds the NUL character"},
		{"escaped NUL after an escaped backslash", `{"event":"joinChat","data":{"conversationId":"` + conv + `","note":"\\\u0000"}}`, "frame holds the NUL character"},
		{"raw NUL inside a string", "{\"event\":\"joinChat\",\"data\":{\"note\":\"a\x00\"}}", "frame holds the NUL character"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := wire.DecodeFrame([]byte(tt.frame))
			require.Error(t, err)
			assert.Equal(t, domain.KindInvalid, domain.KindOf(err))
			assert.NotEmpty(t, domain.MessageOf(err))
			assert.Contains(t, domain.MessageOf(err), tt.message)
		})
	}
}

func TestDecodePayload(t *testing.T) {
	got, err := wire.DecodePayload(domain.EventAck, []byte(`{"conversationId":"`+conv+`","upToSequenceId":2}`))
	require.NoError(t, err)
	assert.Equal(t, wire.Inbound{Event: "ack", Ack: wire.Ack{ConversationID: conv, UpTo: 2}}, got)

	for name, tc := range map[string]struct{ event, data string }{
		"NUL in the data":    {domain.EventAck, `{"conversationId":"\u0000"}`},
		"bad UTF-8 in event": {"ack\xff", `{}`},
		"NUL in the event":   {"ack\x00", `{}`},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := wire.DecodePayload(tc.event, []byte(tc.data))
			require.Error(t, err)
			assert.Equal(t, domain.KindInvalid, domain.KindOf(err))
		})
	}
}

// TestDecodeSendKeepsTheClientMessageID: a refused send is answered with an
// error that carries its clientMessageId, when the frame has one.
func TestDecodeSendKeepsTheClientMessageID(t *testing.T) {
	tests := []struct {
		name, frame, want string
	}{
		{"malformed field", `{"event":"send","data":{"receiverId":5,"clientMessageId":"c-9"}}`, "c-9"},
		{"no clientMessageId", `{"event":"send","data":{"receiverId":"` + userB + `"}}`, ""},
		{"not an object", `{"event":"send","data":"c-9"}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, err := wire.DecodeFrame([]byte(tt.frame))
			require.Error(t, err)
			assert.Equal(t, domain.EventSend, in.Event)
			assert.Equal(t, tt.want, in.Send.ClientMessageID)
		})
	}
}

func TestSendDraft(t *testing.T) {
	s := wire.Send{ReceiverID: userB, Message: "hi", MessageType: "text", Metadata: []byte(`{}`), ClientMessageID: "c-1"}
	assert.Equal(t, domain.Draft{SenderID: userA, ReceiverID: userB, Text: "hi", Type: "text", Metadata: []byte(`{}`), ClientMessageID: "c-1"},
		s.Draft(userA))
}
