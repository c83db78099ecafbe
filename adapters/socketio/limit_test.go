package socketio_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/adapters/socketio"
	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/realtime"
	"github.com/messenger-go/messenger/wire"
)

// TestEventFloodIsWarnedThenClosed floods a Socket.IO socket with events: the
// realtime frame limit applies as on /ws, a the socket ends with an `error`
// event of code rate_limited.
func TestEventFloodIsWarnedThenClosed(t *testing.T) {
	e := newEnv(t, func(_ *realtime.HubConfig, c *socketio.HandlerConfig) {
		c.FrameLimit = wire.FrameLimit{PerSecond: 1, Burst: 2, Overrun: 3}
	})
	u, receiver := domain.NewUserID(), domain.NewUserID()
	c, _, err := e.dial(t, "", http.Header{"Authorization": {"Bearer " + e.svc.token(u, time.Time{})}})
	require.NoError(t, err)
	c.open(t)
	c.write(t, "40")
	require.True(t, strings.HasPrefix(c.readSkippingPings(t), `40{"sid":`))
	for range 20 {
		if c.conn.Write(t.Context(), 1, []byte(`42["typing",{"receiverId":"`+string(receiver)+`","isTyping":true}]`)) != nil {
			break // closed
		}
	}
	packets, _ := c.readUntilClosed(t)
	last := packets[len(packets)-1]
	assert.Contains(t, last, `"code":"rate_limited"`, "the end is told as rate_limited")
	assert.Contains(t, last, "too many frames")
	waitFor(t, "socket released", func() bool { return e.hub.Sockets() == 0 })
	assert.LessOrEqual(t, len(e.svc.typingCalls()), 2, "only the burst is served")
}
