package domain_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/domain"
)

func TestEventNames(t *testing.T) {
	// The names are the wire contract of DESIGN.md section 6.
	tests := []struct{ got, want string }{
		{domain.EventRegistered, "registered"},
		{domain.EventChatRegistered, "chatRegistered"},
		{domain.EventNewMessage, "newMessage"},
		{domain.EventTypingIndicator, "typingIndicator"},
		{domain.EventReadReceipt, "readReceipt"},
		{domain.EventNewFriendRequest, "newFriendRequest"},
		{domain.EventFriendRequestAccepted, "friendRequestAccepted"},
		{domain.EventMessageDelivered, "messageDelivered"},
		{domain.EventError, "error"},
		{domain.EventTyping, "typing"},
		{domain.EventJoinChat, "joinChat"},
		{domain.EventResume, "resume"},
		{domain.EventAck, "ack"},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			assert.Equal(t, tc.want, tc.got)
		})
	}
}

func TestErrorEvent(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"invalid", domain.Errorf(domain.KindInvalid, "message is empty"),
			`{"event":"error","data":{"code":"invalid","message":"message is empty"}}`},
		{"wrapped forbidden", fmt.Errorf("send: %w", domain.Errorf(domain.KindForbidden, "not friends")),
			`{"event":"error","data":{"code":"forbidden","message":"not friends"}}`},
		{"rate limited sentinel", domain.ErrRateLimited,
			`{"event":"error","data":{"code":"rate_limited","message":"rate_limited"}}`},
		{"plain error is internal and hidden", errors.New("dial tcp 10.0.0.7:5432: refused"),
			`{"event":"error","data":{"code":"internal","message":"internal error"}}`},
		{"internal kind is hidden", domain.Wrap(domain.KindInternal, errors.New("panic: x"), "handler crashed"),
			`{"event":"error","data":{"code":"internal","message":"internal error"}}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ev := domain.ErrorEvent(tc.err)
			assert.Equal(t, domain.EventError, ev.Name)
			require.IsType(t, domain.ErrorPayload{}, ev.Data)
			raw, err := json.Marshal(ev)
			require.NoError(t, err)
			assert.JSONEq(t, tc.want, string(raw))
		})
	}
}

func TestNewMessageEvent(t *testing.T) {
	m, err := domain.NewMessage(validDraft(), sendTime)
	require.NoError(t, err)
	m.Sequence = 1
	ev := domain.NewMessageEvent(m)
	assert.Equal(t, domain.EventNewMessage, ev.Name)
	assert.Equal(t, m, ev.Data)

	raw, err := json.Marshal(ev)
	require.NoError(t, err)
	var frame map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(raw, &frame))
	assert.ElementsMatch(t, []string{"event", "data"}, keys(frame))
	assert.JSONEq(t, `"newMessage"`, string(frame["event"]))
	msg, err := json.Marshal(m)
	require.NoError(t, err)
	assert.JSONEq(t, string(msg), string(frame["data"]))
}

func TestEventWithEncodedData(t *testing.T) {
	// An event that crossed nodes carries its data already encoded.
	raw, err := json.Marshal(domain.Event{Name: domain.EventTypingIndicator, Data: json.RawMessage(`{"isTyping":true}`)})
	require.NoError(t, err)
	assert.JSONEq(t, `{"event":"typingIndicator","data":{"isTyping":true}}`, string(raw))
}

func TestPayloadJSON(t *testing.T) {
	c, err := domain.NewConversationID(alice, bob)
	require.NoError(t, err)
	at := time.Date(2026, 2, 3, 4, 5, 6, 0, time.UTC)
	user := domain.User{ID: alice, FirstName: "A", LastName: "L", Email: "a@x.io", PasswordHash: "h"}
	userJSON := `{"id":"` + string(alice) + `","firstName":"A","lastName":"L","email":"a@x.io"}`
	tests := []struct {
		name string
		data any
		want string
	}{
		{"registered", domain.RegisteredPayload{UserID: alice}, `{"userId":"` + string(alice) + `"}`},
		{"chatRegistered", domain.ConversationPayload{ConversationID: c}, `{"conversationId":"` + string(c) + `"}`},
		{"typingIndicator", domain.TypingPayload{SenderID: bob, ConversationID: c, IsTyping: true},
			`{"senderId":"` + string(bob) + `","conversationId":"` + string(c) + `","isTyping":true}`},
		{"typingIndicator stopped", domain.TypingPayload{SenderID: bob, ConversationID: c},
			`{"senderId":"` + string(bob) + `","conversationId":"` + string(c) + `","isTyping":false}`},
		{"readReceipt", domain.ReadReceipt{ConversationID: c, ReaderID: bob, UpTo: 7, ReadAt: at},
			`{"conversationId":"` + string(c) + `","readerId":"` + string(bob) + `","upToSequenceId":7,"readAt":"2026-02-03T04:05:06Z"}`},
		{"messageDelivered", domain.Watermark{ConversationID: c, UpTo: 9},
			`{"conversationId":"` + string(c) + `","upToSequenceId":9}`},
		{"newFriendRequest", domain.UserPayload{User: user}, `{"user":` + userJSON + `}`},
		{"error", domain.ErrorPayload{Code: "invalid", Message: "bad"}, `{"code":"invalid","message":"bad"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			raw, err := json.Marshal(domain.Event{Name: tc.name, Data: tc.data})
			require.NoError(t, err)
			assert.JSONEq(t, `{"event":"`+tc.name+`","data":`+tc.want+`}`, string(raw))
		})
	}
}
