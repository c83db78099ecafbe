package websocket_test

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
	"github.com/messenger-go/messenger/realtime"
	"github.com/messenger-go/messenger/wire"
)

func TestSendIsAnsweredWithSendResult(t *testing.T) {
	e := newEnv(t, nil)
	a, b, conv := pair(t)
	c := e.dial(t, a)

	c.send(t, domain.EventSend, map[string]any{"receiverId": b, "message": "hello", "clientMessageId": "m-1"})
	var got ports.SendReceipt
	c.readEvent(t, domain.EventSendResult, &got)
	assert.Equal(t, ports.SendReceipt{
		MessageID:       domain.DeriveMessageID(a, "m-1"),
		ClientMessageID: "m-1",
		ConversationID:  conv,
		Status:          "queued",
	}, got)
}

func TestSendErrorsCarryTheClientMessageID(t *testing.T) {
	e := newEnv(t, nil)
	a, b, _ := pair(t)
	blocked := domain.NewUserID()
	e.svc.onSend = func(d domain.Draft) error {
		if d.ReceiverID == blocked {
			return domain.Errorf(domain.KindForbidden, "not friends")
		}
		return nil
	}
	c := e.dial(t, a)
	tests := []struct {
		name string
		data any
		want wire.SendError
	}{
		{"no clientMessageId", map[string]any{"receiverId": b, "message": "hi"},
			wire.SendError{ErrorPayload: domain.ErrorPayload{Code: "invalid", Message: "send needs a clientMessageId, which its answer carries"}}},
		{"empty message", map[string]any{"receiverId": b, "message": "", "clientMessageId": "m-2"},
			wire.SendError{ErrorPayload: domain.ErrorPayload{Code: "invalid", Message: "message is empty"}, ClientMessageID: "m-2"}},
		{"malformed data", map[string]any{"receiverId": 5, "clientMessageId": "m-3"},
			wire.SendError{ErrorPayload: domain.ErrorPayload{Code: "invalid", Message: "malformed send data"}, ClientMessageID: "m-3"}},
		{"refused by the service", map[string]any{"receiverId": blocked, "message": "hi", "clientMessageId": "m-4"},
			wire.SendError{ErrorPayload: domain.ErrorPayload{Code: "forbidden", Message: "not friends"}, ClientMessageID: "m-4"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c.send(t, domain.EventSend, tt.data)
			var got wire.SendError
			c.readEvent(t, domain.EventError, &got)
			assert.Equal(t, tt.want, got)
		})
	}
}

// TestSendsInFlight: sends wait for the log on goroutines of their own, so
// answers come in the order the log answers; the reader serves other events
// meanwhile, and waits once realtime.MaxSendsInFlight sends are in flight.
func TestSendsInFlight(t *testing.T) {
	e := newEnv(t, nil)
	a, b, conv := pair(t)
	var mu sync.Mutex
	release := map[string]chan struct{}{}
	inFlight := 0
	gate := func(cid string) chan struct{} {
		mu.Lock()
		defer mu.Unlock()
		if release[cid] == nil {
			release[cid] = make(chan struct{})
		}
		return release[cid]
	}
	e.svc.onSend = func(d domain.Draft) error {
		ch := gate(d.ClientMessageID)
		mu.Lock()
		inFlight++
		mu.Unlock()
		<-ch
		mu.Lock()
		inFlight--
		mu.Unlock()
		return nil
	}
	running := func() int {
		mu.Lock()
		defer mu.Unlock()
		return inFlight
	}
	c := e.dial(t, a)
	send := func(cid string) {
		c.send(t, domain.EventSend, map[string]any{"receiverId": b, "message": "hi", "clientMessageId": cid})
	}

	send("first")
	send("second")
	c.send(t, domain.EventJoinChat, map[string]any{"conversationId": conv})
	c.readEvent(t, domain.EventChatRegistered, nil) // served while both sends wait
	close(gate("second"))
	var r ports.SendReceipt
	c.readEvent(t, domain.EventSendResult, &r)
	assert.Equal(t, "second", r.ClientMessageID, "the send the log answered first is answered first")
	close(gate("first"))
	c.readEvent(t, domain.EventSendResult, &r)
	assert.Equal(t, "first", r.ClientMessageID)

	// One more send than there are slots, then a joinChat: the reader waits
	// at the extra send, so the joinChat is not served until a slot frees.
	for i := range realtime.MaxSendsInFlight + 1 {
		send(fmt.Sprint("bulk-", i))
	}
	c.send(t, domain.EventJoinChat, map[string]any{"conversationId": conv})
	waitFor(t, "every slot taken", func() bool { return running() == realtime.MaxSendsInFlight })
	_, joins, _ := e.svc.calls()
	require.Len(t, joins, 1, "the reader waits for a slot before the joinChat")
	assert.Equal(t, realtime.MaxSendsInFlight, running(), "no send beyond the slots")
	for i := range realtime.MaxSendsInFlight + 1 {
		close(gate(fmt.Sprint("bulk-", i)))
	}
	answered := map[string]bool{}
	registered := false
	for range realtime.MaxSendsInFlight + 2 {
		name, data := c.read(t)
		switch name {
		case domain.EventSendResult:
			var r ports.SendReceipt
			require.NoError(t, json.Unmarshal(data, &r))
			answered[r.ClientMessageID] = true
		case domain.EventChatRegistered:
			registered = true
		default:
			t.Fatalf("unexpected %s %s", name, data)
		}
	}
	assert.Len(t, answered, realtime.MaxSendsInFlight+1, "every send answered once")
	assert.True(t, registered)
}
