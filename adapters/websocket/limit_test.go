package websocket_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	ws "github.com/messenger-go/messenger/adapters/websocket"
	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/realtime"
	"github.com/messenger-go/messenger/wire"
)

var clockStart = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// typingFrame is a typing frame of the socket's user to receiver.
func typingFrame(receiver domain.UserID) []byte {
	return []byte(`{"event":"typing","data":{"receiverId":"` + string(receiver) + `","isTyping":true}}`)
}

// frames reads until the connection ends and returns the events read and
// the error that ended it.
func (c *client) frames(t testing.TB) ([]string, []json.RawMessage, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var names []string
	var data []json.RawMessage
	for {
		_, b, err := c.conn.Read(ctx)
		if err != nil {
			require.NoError(t, ctx.Err(), "connection not closed in time")
			return names, data, err
		}
		var f struct {
			Event string          `json:"event"`
			Data  json.RawMessage `json:"data"`
		}
		require.NoError(t, json.Unmarshal(b, &f))
		names, data = append(names, f.Event), append(data, f.Data)
	}
}

// TestFrameFloodIsWarnedThenClosed sends the flood of the report, 5,000
// typing frames at once, on one socket: the burst is served, the client is
// warned with rate_limited and then closed with 1008, and the receiver's
// socket stays open.
func TestFrameFloodIsWarnedThenClosed(t *testing.T) {
	e := newEnv(t, nil)
	a, b, conv := pair(t)
	flooder, receiver := e.dial(t, a), e.dial(t, b)

	go func() { // the server closes the connection midway: later writes fail
		for range 5000 {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			err := flooder.conn.Write(ctx, websocket.MessageText, typingFrame(b))
			cancel()
			if err != nil {
				return
			}
		}
	}()
	// The warning goes out unless the close follows it at once (then the
	// close's reason says the same).
	names, data, err := flooder.frames(t)
	requireCloseStatus(t, err, websocket.StatusPolicyViolation, wire.ReasonRateLimited)
	warnings := 0
	for i, n := range names {
		require.Equal(t, domain.EventError, n)
		var p domain.ErrorPayload
		require.NoError(t, json.Unmarshal(data[i], &p))
		assert.Equal(t, "rate_limited", p.Code)
		warnings++
	}
	assert.LessOrEqual(t, warnings, 2, "warned at most once a second, not once a frame")

	typings, _, _ := e.svc.calls()
	assert.GreaterOrEqual(t, len(typings), wire.DefaultFrameBurst, "the burst was served")
	assert.Less(t, len(typings), 2*wire.DefaultFrameBurst, "the flood was not: the burst and what the rate refilled")

	// The receiver is still connected and served.
	require.NoError(t, e.hub.Notify(t.Context(), []domain.UserID{b}, domain.Event{Name: domain.EventChatRegistered, Data: domain.ConversationPayload{ConversationID: conv}}))
	receiver.readEvent(t, domain.EventChatRegistered, nil)
	waitFor(t, "the flooder's socket released", func() bool { return e.hub.Sockets() == 1 })
	assert.Zero(t, e.hub.Overflows())
}

// TestFrameLimitFollowsTheClock drives the limit with the handler's clock:
// the burst is served, the next frame is refused with a warning, and a
// second later the rate's frames are served again.
func TestFrameLimitFollowsTheClock(t *testing.T) {
	e := newEnv(t, func(_ *realtime.HubConfig, h *ws.HandlerConfig) {
		h.FrameLimit = wire.FrameLimit{PerSecond: 2, Burst: 3, Overrun: 5}
	})
	clock := ws.NewManualClock(e.handler, clockStart)
	a, b, conv := pair(t)
	c := e.dial(t, a)
	join := func() { c.send(t, domain.EventJoinChat, map[string]any{"conversationId": conv}) }

	for range 3 {
		join()
		c.readEvent(t, domain.EventChatRegistered, nil)
	}
	join() // over the burst: refused, with a warning
	var p domain.ErrorPayload
	c.readEvent(t, domain.EventError, &p)
	assert.Equal(t, "rate_limited", p.Code)
	join() // refused without one: the last warning is under a second old
	clock.Advance(time.Second)
	for range 2 {
		join()
		c.readEvent(t, domain.EventChatRegistered, nil)
	}
	_, joins, _ := e.svc.calls()
	assert.Len(t, joins, 5, "the burst and a second's rate")

	// Past the tolerance: the socket is closed.
	for range 6 {
		c.sendRaw(t, typingFrame(b))
	}
	_, _, err := c.frames(t)
	requireCloseStatus(t, err, websocket.StatusPolicyViolation, wire.ReasonRateLimited)
}

func TestFrameLimitCanBeTurnedOff(t *testing.T) {
	e := newEnv(t, func(_ *realtime.HubConfig, h *ws.HandlerConfig) { h.FrameLimit.PerSecond = -1 })
	ws.NewManualClock(e.handler, clockStart) // no time passes
	a, _, conv := pair(t)
	c := e.dial(t, a)
	const n = 3 * wire.DefaultFrameBurst
	for range n {
		c.send(t, domain.EventJoinChat, map[string]any{"conversationId": conv})
	}
	for range n {
		c.readEvent(t, domain.EventChatRegistered, nil)
	}
}

// TestSocketsPerUserCap opens one socket more than the cap for one user: the
// oldest is closed with 4009, the others, and other users', stay.
func TestSocketsPerUserCap(t *testing.T) {
	e := newEnv(t, func(hc *realtime.HubConfig, _ *ws.HandlerConfig) { hc.MaxSocketsPerUser = 3 })
	a, b, conv := pair(t)
	other := e.dial(t, b)
	var socks []*client
	for range 3 {
		socks = append(socks, e.dial(t, a))
	}
	newest := e.dial(t, a)

	_, _, err := socks[0].frames(t)
	requireCloseStatus(t, err, websocket.StatusCode(4009), "too many sockets: replaced by a newer one of this user")
	waitFor(t, "the oldest released", func() bool { return e.hub.Sockets() == 4 })
	require.NoError(t, e.hub.Notify(t.Context(), []domain.UserID{a, b}, domain.Event{Name: domain.EventChatRegistered, Data: domain.ConversationPayload{ConversationID: conv}}))
	for _, c := range []*client{socks[1], socks[2], newest, other} {
		c.readEvent(t, domain.EventChatRegistered, nil)
	}
}

// TestOneTokenCannotHoldAThousandSockets is the report's thousand sockets of
// one token, against the default cap.
func TestOneTokenCannotHoldAThousandSockets(t *testing.T) {
	e := newEnv(t, nil)
	a, _, _ := pair(t)
	for range 3 * realtime.DefaultMaxSocketsPerUser {
		e.dial(t, a)
	}
	waitFor(t, "the oldest sockets closed", func() bool { return e.hub.Sockets() == realtime.DefaultMaxSocketsPerUser })
}

func TestNoSocketCap(t *testing.T) {
	e := newEnv(t, func(hc *realtime.HubConfig, _ *ws.HandlerConfig) { hc.MaxSocketsPerUser = -1 })
	a, _, _ := pair(t)
	for range realtime.DefaultMaxSocketsPerUser + 2 {
		e.dial(t, a)
	}
	assert.Equal(t, realtime.DefaultMaxSocketsPerUser+2, e.hub.Sockets())
}

// TestSilentSocketIsDropped drives the read deadline with the handler's
// clock: a socket from which nothing comes for ReadTimeout is dropped, and
// every frame that comes starts the wait again.
func TestSilentSocketIsDropped(t *testing.T) {
	e := newEnv(t, func(_ *realtime.HubConfig, h *ws.HandlerConfig) {
		h.PingInterval = time.Hour // no ping within the test
		h.ReadTimeout = time.Minute
		// The test's time jumps while a write may still be finishing.
		h.WriteTimeout = 24 * time.Hour
	})
	clock := ws.NewManualClock(e.handler, clockStart)
	a, _, conv := pair(t)
	c := e.dial(t, a)
	roundTrip := func() {
		c.send(t, domain.EventJoinChat, map[string]any{"conversationId": conv})
		c.readEvent(t, domain.EventChatRegistered, nil)
	}

	clock.Advance(59 * time.Second)
	roundTrip() // still served; and it was heard from now
	clock.Advance(59 * time.Second)
	roundTrip()
	clock.Advance(61 * time.Second)
	_, _, err := c.frames(t)
	require.Error(t, err)
	assert.Equal(t, websocket.StatusCode(-1), websocket.CloseStatus(err), "dropped without a close frame: %v", err)
	waitFor(t, "the silent socket released", func() bool { return e.hub.Sockets() == 0 })
}

// TestStuckWriteIsDropped drives the write timeout with the handler's clock:
// a client that takes no frame while the server has a frame to write is
// dropped once the write is older than WriteTimeout.
func TestStuckWriteIsDropped(t *testing.T) {
	e := newEnv(t, func(hc *realtime.HubConfig, h *ws.HandlerConfig) {
		hc.QueueSize = 1 << 16
		h.PingInterval = time.Hour
		h.ReadTimeout = 24 * time.Hour
		h.WriteTimeout = 10 * time.Second
	})
	clock := ws.NewManualClock(e.handler, clockStart)
	a, _, _ := pair(t)
	e.dial(t, a) // and never reads again
	big := domain.Event{Name: domain.EventNewFriendRequest, Data: map[string]string{"pad": strings.Repeat("x", 32<<10)}}
	// Fill the connection's buffers until a write blocks; then time passes.
	for range 512 {
		require.NoError(t, e.hub.Notify(t.Context(), []domain.UserID{a}, big))
	}
	waitFor(t, "the socket dropped", func() bool {
		clock.Advance(6 * time.Second)
		return e.hub.Sockets() == 0
	})
}

// recordingListener records the last deadlines set on each accepted
// connection.
type recordingListener struct {
	net.Listener
	mu    sync.Mutex
	conns []*recordingConn
}

func (l *recordingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	rc := &recordingConn{Conn: c}
	l.mu.Lock()
	l.conns = append(l.conns, rc)
	l.mu.Unlock()
	return rc, nil
}

type recordingConn struct {
	net.Conn
	mu          sync.Mutex
	read, write time.Time
	readBuffer  int
}

func (c *recordingConn) SetReadBuffer(n int) error {
	c.mu.Lock()
	c.readBuffer = n
	c.mu.Unlock()
	return c.Conn.(*net.TCPConn).SetReadBuffer(n)
}

func (c *recordingConn) SetDeadline(t time.Time) error {
	c.mu.Lock()
	c.read, c.write = t, t
	c.mu.Unlock()
	return c.Conn.SetDeadline(t)
}

func (c *recordingConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	c.read = t
	c.mu.Unlock()
	return c.Conn.SetReadDeadline(t)
}

func (c *recordingConn) SetWriteDeadline(t time.Time) error {
	c.mu.Lock()
	c.write = t
	c.mu.Unlock()
	return c.Conn.SetWriteDeadline(t)
}

// TestUpgradeClearsTheServersDeadlines serves /ws from an HTTP server with
// read and write timeouts: once upgraded, the connection has no deadline
// left, so the socket outlives them; the handler's clock bounds it instead.
// Its receive buffer is capped at two frames of the largest size.
func TestUpgradeClearsTheServersDeadlines(t *testing.T) {
	svc := newFakeService()
	hub, err := realtime.NewHub(realtime.HubConfig{})
	require.NoError(t, err)
	handler, err := ws.NewHandler(ws.HandlerConfig{Hub: hub, Service: svc, ReadLimit: 10 << 10})
	require.NoError(t, err)
	srv := httptest.NewUnstartedServer(handler)
	srv.Config.ReadTimeout, srv.Config.WriteTimeout = time.Hour, time.Hour
	ln := &recordingListener{Listener: srv.Listener}
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	t.Cleanup(func() { _ = hub.Shutdown(context.Background()) })

	e := &env{hub: hub, handler: handler, svc: svc, srv: srv, url: "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws"}
	a, _, _ := pair(t)
	e.dial(t, a)
	ln.mu.Lock()
	defer ln.mu.Unlock()
	require.Len(t, ln.conns, 1)
	c := ln.conns[0]
	c.mu.Lock()
	defer c.mu.Unlock()
	assert.True(t, c.read.IsZero(), "read deadline left at %v", c.read)
	assert.True(t, c.write.IsZero(), "write deadline left at %v", c.write)
	assert.Equal(t, 20<<10, c.readBuffer)
}

func TestNewHandlerValidatesLimits(t *testing.T) {
	hub, err := realtime.NewHub(realtime.HubConfig{})
	require.NoError(t, err)
	for name, cfg := range map[string]ws.HandlerConfig{
		"negative read timeout": {ReadTimeout: -1},
		"negative burst":        {FrameLimit: wire.FrameLimit{Burst: -1}},
		"negative overrun":      {FrameLimit: wire.FrameLimit{Overrun: -1}},
	} {
		t.Run(name, func(t *testing.T) {
			cfg.Hub, cfg.Service = hub, newFakeService()
			_, err := ws.NewHandler(cfg)
			assert.Equal(t, domain.KindInvalid, domain.KindOf(err), "got %v", err)
		})
	}
}

// fakeLimiter allows its first allow calls, then refuses them, or fails
// them all with err when set; it records the keys it was asked about.
type fakeLimiter struct {
	mu    sync.Mutex
	allow int
	err   error
	keys  []string
}

func (l *fakeLimiter) Allow(_ context.Context, key string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.keys = append(l.keys, key)
	switch {
	case l.err != nil:
		return l.err
	case l.allow > 0:
		l.allow--
		return nil
	}
	return domain.Errorf(domain.KindRateLimited, "too many requests")
}

// TestSocketOpensAreLimited: a user opening sockets beyond Opens is
// answered 429 before the upgrade, RefusalDelay later.
func TestSocketOpensAreLimited(t *testing.T) {
	const delay = 200 * time.Millisecond
	limiter := &fakeLimiter{allow: 2}
	e := newEnv(t, func(_ *realtime.HubConfig, h *ws.HandlerConfig) { h.Opens, h.RefusalDelay = limiter, delay })
	a, _, _ := pair(t)
	e.dial(t, a)
	e.dial(t, a)
	start := time.Now()
	_, resp, err := e.dialWith(t, e.url, http.Header{"Authorization": {"Bearer " + e.svc.token(a)}})
	require.Error(t, err)
	require.NotNil(t, resp)
	assert.GreaterOrEqual(t, time.Since(start), delay, "the refusal was held back")
	assert.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
	assert.Equal(t, "1", resp.Header.Get("Retry-After"))
	var body struct {
		Error domain.ErrorPayload `json:"error"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	assert.Equal(t, "rate_limited", body.Error.Code)
	assert.Equal(t, []string{"socket:" + string(a), "socket:" + string(a), "socket:" + string(a)}, limiter.keys)
	assert.Equal(t, 2, e.hub.Sockets())

	// An outage of the limiter lets sockets open.
	limiter.mu.Lock()
	limiter.err = domain.Errorf(domain.KindUnavailable, "limiter down")
	limiter.mu.Unlock()
	e.dial(t, a)
}
