package websocket_test

import (
	"context"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	ws "github.com/messenger-go/messenger/adapters/websocket"
	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/realtime"
)

// TestHeldFramesOverflowClosesForAResume: a socket that announced a resume
// holds live messages until it comes; more than the queue's worth closes the
// socket with the reconnect code (1013) without sending any of them out of
// order, and the client, reconnecting and resuming from its cursor, gets every
// one of them once, in order, and then live messages.
func TestHeldFramesOverflowClosesForAResume(t *testing.T) {
	const queue = 4
	e := newEnv(t, func(hc *realtime.HubConfig, h *ws.HandlerConfig) {
		hc.QueueSize = queue
		h.ResumeGrace = time.Hour
	})
	a, b, conv := pair(t)
	for range 2 { // the client has these
		e.svc.appendMessage(b, a)
	}
	c := e.dialResuming(t, a)
	// The client never resumes while these come. Each message is followed by
	// another event, which is not held: once it arrives the writer has taken
	// the message, so the queue never fills and the hold is what overflows.
	marker := domain.Event{Name: domain.EventChatRegistered, Data: domain.ConversationPayload{ConversationID: conv}}
	for range queue {
		notify(t, e, e.svc.appendMessage(b, a), a)
		require.NoError(t, e.hub.Notify(t.Context(), []domain.UserID{a}, marker))
		c.readEvent(t, domain.EventChatRegistered, nil)
	}
	notify(t, e, e.svc.appendMessage(b, a), a)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var err error
	for err == nil {
		var data []byte
		if _, data, err = c.conn.Read(ctx); err == nil {
			assert.NotContains(t, string(data), domain.EventNewMessage, "a held message went out before the resume")
		}
	}
	requireCloseStatus(t, err, websocket.StatusTryAgainLater, "reconnect: client too slow")
	assert.EqualValues(t, 1, e.hub.Overflows())
	waitFor(t, "socket released", func() bool { return e.hub.Sockets() == 0 })

	again := e.dialResuming(t, a)
	again.send(t, domain.EventResume, map[string]any{"conversations": map[domain.ConversationID]domain.Sequence{conv: 2}})
	var got []domain.Sequence
	for range queue + 1 {
		got = append(got, again.readMessage(t).Sequence)
	}
	assert.Equal(t, seqRange(3, 3+queue), got, "the replay brings what was held, once, in order")
	next := e.svc.appendMessage(b, a)
	notify(t, e, next, a)
	assert.Equal(t, next.Sequence, again.readMessage(t).Sequence, "then live")
	assert.EqualValues(t, 1, e.hub.Overflows(), "the resumed socket keeps up")
}
