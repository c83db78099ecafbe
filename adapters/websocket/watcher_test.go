package websocket_test

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"

	ws "github.com/messenger-go/messenger/adapters/websocket"
	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/realtime"
)

// watchLog records what a hub's Watcher is told.
type watchLog struct {
	mu    sync.Mutex
	calls []string
}

func (l *watchLog) UserConnected(_ context.Context, u domain.UserID) { l.add("on " + string(u)) }

func (l *watchLog) UserDisconnected(_ context.Context, u domain.UserID) { l.add("off " + string(u)) }

func (l *watchLog) add(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = append(l.calls, s)
}

func (l *watchLog) get() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.calls...)
}

func TestWatcherHearsFirstAndLastSockets(t *testing.T) {
	for _, withPresence := range []bool{false, true} {
		log := &watchLog{}
		e := newEnv(t, func(h *realtime.HubConfig, _ *ws.HandlerConfig) {
			h.Watcher = log
			if withPresence {
				h.Presence = newFakePresence()
			}
		})
		u, other := domain.NewUserID(), domain.NewUserID()
		phone := e.dial(t, u)
		waitFor(t, "the first socket told", func() bool { return len(log.get()) == 1 })
		laptop := e.dial(t, u)
		theirs := e.dial(t, other)
		waitFor(t, "the other user told", func() bool { return len(log.get()) == 2 })
		assert.Equal(t, []string{"on " + string(u), "on " + string(other)}, log.get(), "a second socket of u tells nothing")

		_ = phone.conn.Close(1000, "")
		waitFor(t, "one socket of u left", func() bool { return e.hub.Sockets() == 2 })
		_ = laptop.conn.Close(1000, "")
		waitFor(t, "the last socket of u told", func() bool { return len(log.get()) == 3 })
		assert.Equal(t, "off "+string(u), log.get()[2])
		e.dial(t, u)
		waitFor(t, "u back", func() bool { return len(log.get()) == 4 })
		assert.Equal(t, "on "+string(u), log.get()[3])
		_ = theirs
	}
}
