package websocket_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	ws "github.com/messenger-go/messenger/adapters/websocket"
	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
	"github.com/messenger-go/messenger/realtime"
)

// ChangedMessages serves no changes: the fake's conversations are never
// edited unless a test wraps it (changesService).
func (f *fakeService) ChangedMessages(context.Context, domain.UserID, domain.ConversationID, domain.Sequence) ([]domain.Message, error) {
	return nil, nil
}

// changesService is the fake with changed messages to replay.
type changesService struct {
	*fakeService
	mu      sync.Mutex
	changed func(caller domain.UserID, conv domain.ConversationID, upTo domain.Sequence) ([]domain.Message, error)
}

func (c *changesService) ChangedMessages(_ context.Context, caller domain.UserID, conv domain.ConversationID, upTo domain.Sequence) ([]domain.Message, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.changed(caller, conv, upTo)
}

func (c *changesService) serve(fn func(caller domain.UserID, conv domain.ConversationID, upTo domain.Sequence) ([]domain.Message, error)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.changed = fn
}

func TestResumeReplaysChangesBelowTheCursor(t *testing.T) {
	type call struct {
		caller domain.UserID
		conv   domain.ConversationID
		upTo   domain.Sequence
	}
	var calls []call
	var svc *changesService
	e := newEnv(t, func(_ *realtime.HubConfig, h *ws.HandlerConfig) {
		svc = &changesService{fakeService: h.Service.(*fakeService)}
		h.Service = svc
	})
	a, b, conv := pair(t)
	m1, m2 := e.svc.appendMessage(a, b), e.svc.appendMessage(a, b)
	e.svc.appendMessage(b, a)
	edited := m1
	edited.Text, edited.Version = "edited", 2
	at := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	gone := m2.Erased(a, at)
	svc.serve(func(caller domain.UserID, c domain.ConversationID, upTo domain.Sequence) ([]domain.Message, error) {
		calls = append(calls, call{caller, c, upTo})
		return []domain.Message{edited, gone}, nil
	})

	c := e.dialResuming(t, b)
	c.send(t, domain.EventResume, map[string]any{"conversations": map[domain.ConversationID]domain.Sequence{conv: 2}})
	assert.Equal(t, domain.Sequence(3), c.readMessage(t).Sequence, "first the messages after the cursor")
	var got domain.Message
	c.readEvent(t, domain.EventMessageEdited, &got)
	assert.Equal(t, "edited", got.Text)
	assert.Equal(t, int64(2), got.Version)
	var d domain.MessageDeleted
	c.readEvent(t, domain.EventMessageDeleted, &d)
	assert.Equal(t, domain.MessageDeleted{ConversationID: conv, MessageID: m2.ID, Sequence: 2, DeletedAt: at}, d)
	svc.mu.Lock()
	assert.Equal(t, []call{{b, conv, 2}}, calls, "as the socket's user, from its cursor")
	svc.mu.Unlock()

	// A failure to read the changes is an error event; the socket stays.
	svc.serve(func(domain.UserID, domain.ConversationID, domain.Sequence) ([]domain.Message, error) {
		return nil, domain.Errorf(domain.KindUnavailable, "store down")
	})
	c2 := e.dialResuming(t, a)
	c2.send(t, domain.EventResume, map[string]any{"conversations": map[domain.ConversationID]domain.Sequence{conv: 3}})
	var ep domain.ErrorPayload
	c2.readEvent(t, domain.EventError, &ep)
	assert.Equal(t, "unavailable", ep.Code)
	live := e.svc.appendMessage(a, b)
	require.NoError(t, e.hub.Notify(context.Background(), []domain.UserID{a}, domain.NewMessageEvent(live)))
	assert.Equal(t, domain.Sequence(4), c2.readMessage(t).Sequence, "live again after the resume")
}

func TestChangeEventsPassThroughLive(t *testing.T) {
	e := newEnv(t, nil)
	a, b, _ := pair(t)
	c := e.dial(t, b)
	m := e.svc.appendMessage(a, b)
	m.Text, m.Version = "edited", 2
	require.NoError(t, e.hub.Notify(context.Background(), []domain.UserID{b}, domain.ChangeEvent(m)))
	name, data := c.read(t)
	require.Equal(t, domain.EventMessageEdited, name)
	var got domain.Message
	require.NoError(t, json.Unmarshal(data, &got))
	assert.Equal(t, "edited", got.Text)
	var _ ports.Service = &changesService{} // the wrapper stays a Service
}
