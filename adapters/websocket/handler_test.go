package websocket_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	ws "github.com/messenger-go/messenger/adapters/websocket"
	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/realtime"
)

func TestConnectSendsRegistered(t *testing.T) {
	e := newEnv(t, nil)
	tests := []struct {
		name   string
		header func(tok string) http.Header
		query  func(tok string) string
	}{
		{name: "authorization header", header: func(tok string) http.Header { return http.Header{"Authorization": {"Bearer " + tok}} }},
		{name: "lower-case scheme", header: func(tok string) http.Header { return http.Header{"Authorization": {"bearer " + tok}} }},
		{name: "access_token query parameter", query: func(tok string) string { return "?access_token=" + url.QueryEscape(tok) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := domain.NewUserID()
			tok := e.svc.token(u)
			var header http.Header
			target := e.url
			if tt.header != nil {
				header = tt.header(tok)
			}
			if tt.query != nil {
				target += tt.query(tok)
			}
			c, _, err := e.dialWith(t, target, header)
			require.NoError(t, err)
			var p domain.RegisteredPayload
			c.readEvent(t, domain.EventRegistered, &p)
			assert.Equal(t, u, p.UserID)
		})
	}
}

func TestUnauthenticatedBeforeUpgrade(t *testing.T) {
	e := newEnv(t, nil)
	valid := e.svc.token(domain.NewUserID())
	tests := []struct {
		name   string
		query  string
		header http.Header
	}{
		{name: "no token"},
		{name: "bad header token", header: http.Header{"Authorization": {"Bearer nope"}}},
		{name: "bad query token", query: "?access_token=nope"},
		{name: "basic scheme", header: http.Header{"Authorization": {"Basic " + valid}}},
		{name: "empty bearer", header: http.Header{"Authorization": {"Bearer "}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, resp, err := e.dialWith(t, e.url+tt.query, tt.header)
			require.Error(t, err)
			require.NotNil(t, resp)
			assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
			assert.Equal(t, "application/json; charset=utf-8", resp.Header.Get("Content-Type"), "the REST API's error body")
			body, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			var got struct {
				Error domain.ErrorPayload `json:"error"`
			}
			require.NoError(t, json.Unmarshal(body, &got), "body %s", body)
			assert.Equal(t, "unauthenticated", got.Error.Code)
			assert.NotEmpty(t, got.Error.Message)
		})
	}
	assert.Zero(t, e.hub.Sockets())
}

func TestOriginCheck(t *testing.T) {
	tests := []struct {
		name     string
		patterns []string
		skip     bool
		origin   func(e *env) string
		allowed  bool
	}{
		{name: "foreign origin refused by default", origin: func(*env) string { return "http://evil.example" }},
		{name: "same origin allowed", origin: func(e *env) string { return e.srv.URL }, allowed: true},
		{name: "no origin header allowed", origin: func(*env) string { return "" }, allowed: true},
		{name: "listed origin allowed", patterns: []string{"app.example"}, origin: func(*env) string { return "https://app.example" }, allowed: true},
		{name: "unlisted origin refused", patterns: []string{"app.example"}, origin: func(*env) string { return "https://evil.example" }},
		{name: "skip verify allows any", skip: true, origin: func(*env) string { return "http://evil.example" }, allowed: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, func(_ *realtime.HubConfig, h *ws.HandlerConfig) {
				h.OriginPatterns = tt.patterns
				h.InsecureSkipVerify = tt.skip
			})
			u := domain.NewUserID()
			header := http.Header{"Authorization": {"Bearer " + e.svc.token(u)}}
			if o := tt.origin(e); o != "" {
				header.Set("Origin", o)
			}
			c, resp, err := e.dialWith(t, e.url, header)
			if !tt.allowed {
				require.Error(t, err)
				require.NotNil(t, resp)
				assert.Equal(t, http.StatusForbidden, resp.StatusCode)
				return
			}
			require.NoError(t, err)
			c.readEvent(t, domain.EventRegistered, nil)
		})
	}
}

func TestDispatch(t *testing.T) {
	e := newEnv(t, nil)
	a, b, conv := pair(t)
	c := e.dial(t, a)

	c.send(t, domain.EventTyping, map[string]any{"receiverId": b, "isTyping": true})
	c.send(t, domain.EventAck, map[string]any{"conversationId": conv, "upToSequenceId": 7})
	c.send(t, domain.EventJoinChat, map[string]any{"conversationId": conv})

	// Typing and ack have no answer: the next frame is joinChat's.
	var reg domain.ConversationPayload
	c.readEvent(t, domain.EventChatRegistered, &reg)
	assert.Equal(t, conv, reg.ConversationID)

	typings, joins, acks := e.svc.calls()
	assert.Equal(t, []typingCall{{Sender: a, Receiver: b, IsTyping: true}}, typings)
	assert.Equal(t, []joinCall{{Caller: a, Conv: conv}}, joins)
	assert.Equal(t, []ackCall{{Caller: a, Conv: conv, UpTo: 7}}, acks)

	t.Run("conversation id in the other order is canonicalised", func(t *testing.T) {
		x, y := conv.Members()
		c.send(t, domain.EventJoinChat, map[string]any{"conversationId": string(y) + "_" + string(x)})
		var reg domain.ConversationPayload
		c.readEvent(t, domain.EventChatRegistered, &reg)
		assert.Equal(t, conv, reg.ConversationID)
	})
}

func TestServiceErrorsBecomeErrorEvents(t *testing.T) {
	e := newEnv(t, nil)
	e.svc.onTyping = func(typingCall) error { return domain.Errorf(domain.KindForbidden, "not friends") }
	e.svc.onAck = func(ackCall) error { return domain.Errorf(domain.KindUnavailable, "store down") }
	a, b, conv := pair(t)
	_, _, foreign := pair(t)
	c := e.dial(t, a)
	tests := []struct {
		name    string
		event   string
		data    any
		code    string
		message string
	}{
		{name: "typing forbidden", event: domain.EventTyping, data: map[string]any{"receiverId": b, "isTyping": true}, code: "forbidden", message: "not friends"},
		{name: "ack unavailable", event: domain.EventAck, data: map[string]any{"conversationId": conv, "upToSequenceId": 1}, code: "unavailable", message: "store down"},
		{name: "joinChat not a participant", event: domain.EventJoinChat, data: map[string]any{"conversationId": foreign}, code: "forbidden", message: "not a participant of this conversation"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c.send(t, tt.event, tt.data)
			var p domain.ErrorPayload
			c.readEvent(t, domain.EventError, &p)
			assert.Equal(t, tt.code, p.Code)
			assert.Equal(t, tt.message, p.Message)
		})
	}
	t.Run("internal error is not shown", func(t *testing.T) {
		e.svc.onTyping = func(typingCall) error { return domain.Wrap(domain.KindInternal, io.ErrUnexpectedEOF, "secret detail") }
		c.send(t, domain.EventTyping, map[string]any{"receiverId": b, "isTyping": false})
		var p domain.ErrorPayload
		c.readEvent(t, domain.EventError, &p)
		assert.Equal(t, "internal", p.Code)
		assert.Equal(t, "internal error", p.Message)
	})
}

func TestBadFramesKeepSocketOpen(t *testing.T) {
	e := newEnv(t, nil)
	a, _, conv := pair(t)
	c := e.dial(t, a)
	tests := []struct {
		name  string
		frame string
	}{
		{name: "not JSON", frame: `{oops`},
		{name: "JSON array", frame: `[1,2]`},
		{name: "no event", frame: `{"data":{}}`},
		{name: "unknown event", frame: `{"event":"dance","data":{}}`},
		{name: "server event sent by client", frame: `{"event":"newMessage","data":{}}`},
		{name: "typing without data", frame: `{"event":"typing"}`},
		{name: "typing data not an object", frame: `{"event":"typing","data":5}`},
		{name: "typing bad receiver", frame: `{"event":"typing","data":{"receiverId":"bob","isTyping":true}}`},
		{name: "joinChat bad conversation", frame: `{"event":"joinChat","data":{"conversationId":"a_b"}}`},
		{name: "joinChat missing conversation", frame: `{"event":"joinChat","data":{}}`},
		{name: "ack negative sequence", frame: `{"event":"ack","data":{"conversationId":"` + string(conv) + `","upToSequenceId":-1}}`},
		{name: "ack sequence not a number", frame: `{"event":"ack","data":{"conversationId":"` + string(conv) + `","upToSequenceId":"x"}}`},
		{name: "resume bad conversation", frame: `{"event":"resume","data":{"conversations":{"nope":1}}}`},
		{name: "resume negative cursor", frame: `{"event":"resume","data":{"conversations":{"` + string(conv) + `":-3}}}`},
		{name: "binary garbage", frame: "\x00\x01\x02"},
		{name: "invalid UTF-8", frame: "{\"event\":\"joinChat\",\"data\":{\"conversationId\":\"" + string(conv) + "\",\"x\":\"\xff\"}}"},
		{name: "escaped NUL", frame: `{"event":"joinChat","data":{"conversationId":"` + string(conv) + `","x":"\u0000"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c.sendRaw(t, []byte(tt.frame))
			var p domain.ErrorPayload
			c.readEvent(t, domain.EventError, &p)
			assert.Equal(t, "invalid", p.Code)
			assert.NotEmpty(t, p.Message)

			c.send(t, domain.EventJoinChat, map[string]any{"conversationId": conv})
			c.readEvent(t, domain.EventChatRegistered, nil)
		})
	}
	_, _, acks := e.svc.calls()
	assert.Empty(t, acks, "no invalid frame may reach the service")
}

func TestReadLimitClosesSocket(t *testing.T) {
	e := newEnv(t, func(_ *realtime.HubConfig, h *ws.HandlerConfig) { h.ReadLimit = 1024 })
	a, b, conv := pair(t)
	c := e.dial(t, a)

	// At the limit is fine.
	pad := strings.Repeat("x", 1024-len(`{"event":"typing","data":{"receiverId":"`+string(b)+`","isTyping":true,"pad":""}}`))
	c.sendRaw(t, []byte(`{"event":"typing","data":{"receiverId":"`+string(b)+`","isTyping":true,"pad":"`+pad+`"}}`))
	c.send(t, domain.EventJoinChat, map[string]any{"conversationId": conv})
	c.readEvent(t, domain.EventChatRegistered, nil)

	c.sendRaw(t, []byte(`{"event":"typing","data":{"pad":"`+strings.Repeat("x", 2048)+`"}}`))
	_, err := c.readUntilClosed(t, 10*time.Second)
	assert.Equal(t, websocket.StatusMessageTooBig, websocket.CloseStatus(err), "got %v", err)
	waitFor(t, "socket to be released", func() bool { return e.hub.Sockets() == 0 })
}

func TestPingDropsUnresponsiveConnection(t *testing.T) {
	e := newEnv(t, func(_ *realtime.HubConfig, h *ws.HandlerConfig) {
		h.PingInterval = 50 * time.Millisecond
		h.PingTimeout = 100 * time.Millisecond
	})
	a, _, _ := pair(t)
	c := e.dialPinged(t, a, false) // reads, but never answers a ping
	require.Equal(t, 1, e.hub.Sockets())
	err := c.waitEnded(t)
	assert.Positive(t, c.pings.Load(), "the connection was dropped after a ping went unanswered: %v", err)
	waitFor(t, "dead connection to be released", func() bool { return e.hub.Sockets() == 0 })
}

func TestPingKeepsLiveConnection(t *testing.T) {
	e := newEnv(t, func(_ *realtime.HubConfig, h *ws.HandlerConfig) {
		h.PingInterval = 20 * time.Millisecond
		h.PingTimeout = time.Minute
	})
	a, _, conv := pair(t)
	c := e.dialPinged(t, a, true)
	// One ping is in flight at a time and the next goes out only once the
	// last one's pong is in: a third ping means the first two were answered.
	c.waitPings(t, 3)
	require.NoError(t, e.hub.Notify(t.Context(), []domain.UserID{a}, domain.Event{Name: domain.EventChatRegistered, Data: domain.ConversationPayload{ConversationID: conv}}))
	name, _ := c.next(t)
	assert.Equal(t, domain.EventChatRegistered, name)
	assert.Equal(t, 1, e.hub.Sockets())
}

func TestFramesFlowWhileAPongIsAwaited(t *testing.T) {
	e := newEnv(t, func(hc *realtime.HubConfig, h *ws.HandlerConfig) {
		hc.QueueSize = 4
		h.PingInterval = 20 * time.Millisecond
		h.PingTimeout = time.Minute
	})
	a, _, conv := pair(t)
	c := e.dialPinged(t, a, false)
	// A ping is out and its pong never comes: frames must not wait for it.
	c.waitPings(t, 1)
	const frames = 40
	for range frames {
		require.NoError(t, e.hub.Notify(t.Context(), []domain.UserID{a},
			domain.Event{Name: domain.EventChatRegistered, Data: domain.ConversationPayload{ConversationID: conv}}))
		name, _ := c.next(t)
		require.Equal(t, domain.EventChatRegistered, name, "a frame queued behind the ping")
	}
	assert.Zero(t, e.hub.Overflows())
	assert.Equal(t, int64(1), c.pings.Load(), "no second ping while the first awaits its pong")
	assert.Equal(t, 1, e.hub.Sockets())
}

func TestNewHandlerValidates(t *testing.T) {
	hub, err := realtime.NewHub(realtime.HubConfig{})
	require.NoError(t, err)
	tests := []struct {
		name string
		cfg  ws.HandlerConfig
	}{
		{name: "no hub", cfg: ws.HandlerConfig{Service: newFakeService()}},
		{name: "no service", cfg: ws.HandlerConfig{Hub: hub}},
		{name: "negative read limit", cfg: ws.HandlerConfig{Hub: hub, Service: newFakeService(), ReadLimit: -1}},
		{name: "page too large", cfg: ws.HandlerConfig{Hub: hub, Service: newFakeService(), ReplayPageSize: domain.MaxPageLimit + 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ws.NewHandler(tt.cfg)
			require.Error(t, err)
			assert.Equal(t, domain.KindInvalid, domain.KindOf(err))
		})
	}
}

func TestSocketClosesWhenItsTokenExpires(t *testing.T) {
	e := newEnv(t, nil)
	clock := newManualClock()
	e.useClock(clock)
	u := domain.NewUserID()
	tok := e.svc.expiringToken(u, clock.now().Add(time.Minute))
	c, _, err := e.dialWith(t, e.url, http.Header{"Authorization": {"Bearer " + tok}})
	require.NoError(t, err)
	name, _ := c.read(t)
	require.Equal(t, domain.EventRegistered, name)

	clock.advance(time.Minute)
	_, err = c.readUntilClosed(t, 10*time.Second)
	requireCloseStatus(t, err, websocket.StatusCode(4001), "access token expired: refresh it and reconnect")
	waitFor(t, "socket released", func() bool { return e.hub.Sockets() == 0 })

	// The same token no longer opens a socket.
	_, resp, err := e.dialWith(t, e.url, http.Header{"Authorization": {"Bearer " + tok}})
	require.Error(t, err)
	require.NotNil(t, resp)
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
}

func TestPanickingServiceCallEndsOnlyItsSocket(t *testing.T) {
	e := newEnv(t, nil)
	e.svc.onTyping = func(typingCall) error { panic("kaboom") }
	a, b, _ := pair(t)
	c, other := e.dial(t, a), e.dial(t, b)
	c.sendRaw(t, []byte(`{"event":"typing","data":{"receiverId":"`+string(b)+`","isTyping":true}}`))
	_, err := c.readUntilClosed(t, 10*time.Second)
	require.Error(t, err)
	waitFor(t, "the panicking socket released", func() bool { return e.hub.Sockets() == 1 })

	// The node goes on serving the other socket.
	require.NoError(t, e.hub.Notify(t.Context(), []domain.UserID{b}, domain.Event{Name: domain.EventNewFriendRequest, Data: map[string]int{"i": 1}}))
	other.readEvent(t, domain.EventNewFriendRequest, nil)
}
