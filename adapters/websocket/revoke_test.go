package websocket_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/domain"
)

func TestCloseSessionsClosesEverySocketOfTheUsersWith4001(t *testing.T) {
	e := newEnv(t, nil)
	u, other := domain.NewUserID(), domain.NewUserID()
	phone, laptop, theirs := e.dial(t, u), e.dial(t, u), e.dial(t, other)

	require.NoError(t, e.hub.Notify(context.Background(), []domain.UserID{u},
		domain.Event{Name: domain.SignalCloseSessions, Data: domain.SessionsClosed{Reason: "password changed: log in again"}}))
	for _, c := range []*client{phone, laptop} {
		frames, err := c.readUntilClosed(t, 10*time.Second)
		requireCloseStatus(t, err, websocket.StatusCode(4001), "password changed: log in again")
		assert.Zero(t, frames, "the control event is never written")
	}
	waitFor(t, "the user's sockets released", func() bool { return e.hub.Sockets() == 1 })

	// The same event after crossing nodes (its data as JSON), with no reason.
	require.NoError(t, e.hub.Notify(context.Background(), []domain.UserID{other},
		domain.Event{Name: domain.SignalCloseSessions, Data: json.RawMessage(`{}`)}))
	_, err := theirs.readUntilClosed(t, 10*time.Second)
	requireCloseStatus(t, err, websocket.StatusCode(4001), "credentials revoked: log in again")
}
