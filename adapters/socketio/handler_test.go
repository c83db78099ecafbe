package socketio_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/adapters/socketio"
	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/realtime"
)

func TestRequestsRefusedBeforeASession(t *testing.T) {
	e := newEnv(t, nil)
	tests := []struct {
		name   string
		method string
		url    string
		status int
	}{
		{"no protocol version", "GET", e.srv.URL + "/socket.io/?transport=polling", http.StatusBadRequest},
		{"protocol 3", "GET", e.srv.URL + "/socket.io/?EIO=3&transport=polling", http.StatusBadRequest},
		{"unknown transport", "GET", e.url("transport=flashsocket"), http.StatusBadRequest},
		{"no transport", "GET", e.url(""), http.StatusBadRequest},
		{"unknown session", "GET", e.url("transport=polling&sid=node-1.nope"), http.StatusBadRequest},
		{"unknown session's POST", "POST", e.url("transport=polling&sid=node-1.nope"), http.StatusBadRequest},
		{"unknown session's upgrade", "GET", e.url("transport=websocket&sid=node-1.nope"), http.StatusBadRequest},
		{"a handshake by POST", "POST", e.url("transport=polling"), http.StatusBadRequest},
		{"a bad resume parameter", "GET", e.url("transport=polling&resume=yes"), http.StatusBadRequest},
		{"another method", "PUT", e.url("transport=polling"), http.StatusMethodNotAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body, hdr := e.request(t, tt.method, tt.url, "", nil)
			assert.Equal(t, tt.status, status, body)
			assert.Equal(t, "application/json; charset=utf-8", hdr.Get("Content-Type"))
			var b struct {
				Error domain.ErrorPayload `json:"error"`
			}
			require.NoError(t, json.Unmarshal([]byte(body), &b), body)
			assert.Equal(t, "invalid", b.Error.Code)
			assert.NotEmpty(t, b.Error.Message)
		})
	}
}

func TestOpenPacket(t *testing.T) {
	e := newEnv(t, func(_ *realtime.HubConfig, c *socketio.HandlerConfig) {
		c.Node = "host:3000/a"
		c.PingInterval = 20 * time.Second
		c.PingTimeout = 10 * time.Second
		c.ReadLimit = 4096
	})
	p := e.handshake(t, "")
	assert.Regexp(t, `^host-3000-a\.[A-Za-z0-9_-]{22}$`, p.open.SID, "the node names the session, in characters a proxy can route by")
	assert.Equal(t, []string{"websocket"}, p.open.Upgrades)
	assert.EqualValues(t, 20000, p.open.PingInterval)
	assert.EqualValues(t, 10000+10000+1000, p.open.PingTimeout, "the timeout covers the spread of the first ping")
	assert.EqualValues(t, 4096, p.open.MaxPayload)
	assert.NotEqual(t, p.open.SID, e.handshake(t, "").open.SID)

	c, _, err := e.dial(t, "", nil)
	require.NoError(t, err)
	o := c.open(t)
	assert.Empty(t, o.Upgrades, "a WebSocket session upgrades to nothing")
	assert.True(t, strings.HasPrefix(o.SID, "host-3000-a."))
}

func TestOriginCheck(t *testing.T) {
	e := newEnv(t, func(_ *realtime.HubConfig, c *socketio.HandlerConfig) {
		c.OriginPatterns = []string{"app.example.com"}
	})
	tests := []struct {
		name   string
		origin string
		status int
		cors   string
	}{
		{"no Origin (not a browser)", "", http.StatusOK, ""},
		{"same origin", e.srv.URL, http.StatusOK, ""},
		{"an allowed origin", "https://app.example.com", http.StatusOK, "https://app.example.com"},
		{"a foreign origin", "https://evil.example.com", http.StatusForbidden, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hdr := http.Header{}
			if tt.origin != "" {
				hdr.Set("Origin", tt.origin)
			}
			status, body, got := e.request(t, "GET", e.url("transport=polling"), "", hdr)
			assert.Equal(t, tt.status, status, body)
			assert.Equal(t, tt.cors, got.Get("Access-Control-Allow-Origin"))

			_, resp, err := e.dial(t, "", hdr)
			if tt.status == http.StatusOK {
				require.NoError(t, err)
			} else {
				require.Error(t, err)
				assert.Equal(t, http.StatusForbidden, resp.StatusCode)
			}
		})
	}
	t.Run("preflight", func(t *testing.T) {
		hdr := http.Header{"Origin": {"https://app.example.com"}, "Access-Control-Request-Method": {"POST"}}
		status, _, got := e.request(t, "OPTIONS", e.url("transport=polling"), "", hdr)
		assert.Equal(t, http.StatusNoContent, status)
		assert.Equal(t, "https://app.example.com", got.Get("Access-Control-Allow-Origin"))
		assert.Contains(t, got.Get("Access-Control-Allow-Headers"), "Authorization")
	})
}

func TestPollingConnectAndEvents(t *testing.T) {
	e := newEnv(t, nil)
	a, b := domain.NewUserID(), domain.NewUserID()
	conv, err := domain.NewConversationID(a, b)
	require.NoError(t, err)
	p := e.handshake(t, "")
	buf := p.connect(t, a)
	assert.Equal(t, 1, e.hub.Sockets())

	// Several packets in one POST are served in order; the acknowledgements
	// come after the answers.
	require.Equal(t, http.StatusOK, p.post(t,
		`421["typing",{"receiverId":"`+string(b)+`","isTyping":true}]`,
		`422["joinChat",{"conversationId":"`+string(conv)+`"}]`,
		`42["joinChat",{"conversationId":"`+string(conv)+`"}]`,
	))
	assert.Equal(t, `431[]`, p.next(t, &buf), "an event served without an answer is acknowledged with no argument")
	requireEvent(t, p.next(t, &buf), domain.EventChatRegistered, map[string]any{"conversationId": string(conv)})
	assert.Equal(t, `432[{"conversationId":"`+string(conv)+`"}]`, p.next(t, &buf))
	requireEvent(t, p.next(t, &buf), domain.EventChatRegistered, map[string]any{"conversationId": string(conv)})
	assert.Equal(t, []domain.UserID{b}, e.svc.typingCalls())

	// The hub reaches the socket.
	require.NoError(t, e.hub.Notify(t.Context(), []domain.UserID{a}, domain.Event{Name: domain.EventTypingIndicator,
		Data: domain.TypingPayload{SenderID: b, ConversationID: conv, IsTyping: true}}))
	requireEvent(t, p.next(t, &buf), domain.EventTypingIndicator, map[string]any{"senderId": string(b), "conversationId": string(conv), "isTyping": true})

	// The client leaves: 41 ends the socket.
	require.Equal(t, http.StatusOK, p.post(t, "41"))
	waitFor(t, "socket released", func() bool { return e.hub.Sockets() == 0 })
}

func TestBadSocketIOInputKeepsTheSocket(t *testing.T) {
	e := newEnv(t, nil)
	a, b := domain.NewUserID(), domain.NewUserID()
	p := e.handshake(t, "")
	buf := p.connect(t, a)
	tests := []struct {
		name, packet, message string
	}{
		{"not an array", `42{"event":"typing"}`, `malformed event`},
		{"no name", `42[]`, `malformed event`},
		{"name not a string", `42[5,{}]`, `malformed event`},
		{"unknown event", `42["dance",{}]`, `unknown event "dance"`},
		{"server event", `42["newMessage",{}]`, `unknown event "newMessage"`},
		{"no data", `42["typing"]`, `typing needs data`},
		{"bad data", `42["typing",{"receiverId":"bob"}]`, ``},
		{"NUL in data", `42["typing",{"receiverId":"\u0000"}]`, `NUL`},
		{"binary event", `451-["typing",{"_placeholder":true,"num":0}]`, `binary packets are not supported`},
		{"unknown packet type", `49`, `unknown Socket.IO packet`},
		{"send without clientMessageId", `42["send",{"receiverId":"` + string(b) + `","message":"hi"}]`, `send needs a clientMessageId`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, http.StatusOK, p.post(t, tt.packet))
			pkt := p.next(t, &buf)
			require.True(t, strings.HasPrefix(pkt, `42["error",`), pkt)
			var args []json.RawMessage
			require.NoError(t, json.Unmarshal([]byte(pkt[2:]), &args))
			var got domain.ErrorPayload
			require.NoError(t, json.Unmarshal(args[1], &got))
			assert.Equal(t, "invalid", got.Code)
			assert.Contains(t, got.Message, tt.message)
		})
	}
	assert.Equal(t, 1, e.hub.Sockets(), "the socket stays open")
	assert.Empty(t, e.svc.typingCalls(), "no bad input reaches the service")
}

func TestConnectRefusals(t *testing.T) {
	e := newEnv(t, nil)
	u := domain.NewUserID()
	tests := []struct {
		name, packet, code string
	}{
		{"no token", `40`, "unauthenticated"},
		{"empty token", `40{"token":""}`, "unauthenticated"},
		{"bad token", `40{"token":"nope"}`, "unauthenticated"},
		{"auth not an object", `40"tok"`, "invalid"},
	}
	p := e.handshake(t, "")
	var buf []string
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, http.StatusOK, p.post(t, tt.packet))
			pkt := p.next(t, &buf)
			require.True(t, strings.HasPrefix(pkt, "44{"), pkt)
			var refusal struct {
				Message string              `json:"message"`
				Data    domain.ErrorPayload `json:"data"`
			}
			require.NoError(t, json.Unmarshal([]byte(pkt[2:]), &refusal))
			assert.Equal(t, tt.code, refusal.Data.Code)
			assert.NotEmpty(t, refusal.Message)
			assert.Equal(t, refusal.Data.Message, refusal.Message)
		})
	}
	t.Run("another namespace", func(t *testing.T) {
		require.Equal(t, http.StatusOK, p.post(t, `40/admin,{"token":"`+e.svc.token(u, time.Time{})+`"}`))
		assert.Equal(t, `44/admin,{"message":"Invalid namespace","data":{"code":"not_found","message":"Invalid namespace"}}`, p.next(t, &buf))
	})
	assert.Zero(t, e.hub.Sockets())
	t.Run("the session stays open for another try", func(t *testing.T) {
		p.connect(t, u)
		assert.Equal(t, 1, e.hub.Sockets())
	})
}

func TestTokenFromTheHandshake(t *testing.T) {
	e := newEnv(t, nil)
	u := domain.NewUserID()
	tok := e.svc.token(u, time.Time{})
	t.Run("access_token", func(t *testing.T) {
		p := e.handshake(t, "&access_token="+tok)
		require.Equal(t, http.StatusOK, p.post(t, "40"))
		var buf []string
		require.True(t, strings.HasPrefix(p.next(t, &buf), `40{"sid":`))
	})
	t.Run("Authorization", func(t *testing.T) {
		c, _, err := e.dial(t, "", http.Header{"Authorization": {"Bearer " + tok}})
		require.NoError(t, err)
		c.open(t)
		c.write(t, "40")
		require.True(t, strings.HasPrefix(c.readSkippingPings(t), `40{"sid":`))
	})
	t.Run("auth.token wins", func(t *testing.T) {
		p := e.handshake(t, "&access_token=nope")
		buf := p.connect(t, u)
		assert.Empty(t, buf)
	})
}

func TestPollingSessionLimits(t *testing.T) {
	e := newEnv(t, func(_ *realtime.HubConfig, c *socketio.HandlerConfig) { c.ReadLimit = 1024 })
	// ended checks that the session's last poll gets the close packet, and
	// that the session is gone after it.
	ended := func(t *testing.T, p *poller) {
		t.Helper()
		status, packets := p.get(t)
		require.Equal(t, http.StatusOK, status)
		assert.Equal(t, []string{"1"}, packets)
		status, _ = p.get(t)
		assert.Equal(t, http.StatusBadRequest, status, "the session is gone")
	}
	t.Run("a payload over maxPayload ends the session", func(t *testing.T) {
		p := e.handshake(t, "")
		assert.Equal(t, http.StatusRequestEntityTooLarge, p.post(t, "4"+strings.Repeat("x", 2000)))
		ended(t, p)
	})
	t.Run("a packet that is not Engine.IO ends the session", func(t *testing.T) {
		p := e.handshake(t, "")
		assert.Equal(t, http.StatusBadRequest, p.post(t, "9what"))
		ended(t, p)
	})
	t.Run("two GETs at once end the session", func(t *testing.T) {
		p := e.handshake(t, "")
		// Nothing is sent before a connect: the first GET waits, and the
		// second finds it waiting.
		results := make(chan []string, 2)
		for range 2 {
			go func() {
				status, packets := p.get(t)
				results <- append([]string{http.StatusText(status)}, packets...)
			}()
		}
		got := [][]string{<-results, <-results}
		assert.ElementsMatch(t, [][]string{{"Bad Request"}, {"OK", "1"}}, got)
		status, _ := p.get(t)
		assert.Equal(t, http.StatusBadRequest, status)
	})
}

func TestWebSocketLimits(t *testing.T) {
	e := newEnv(t, func(_ *realtime.HubConfig, c *socketio.HandlerConfig) { c.ReadLimit = 1024 })
	u := domain.NewUserID()
	tests := []struct {
		name string
		send func(t *testing.T, c *wsClient)
		code websocket.StatusCode
	}{
		{"a message over maxPayload", func(t *testing.T, c *wsClient) { c.write(t, "4"+strings.Repeat("x", 2000)) }, websocket.StatusMessageTooBig},
		{"a binary message", func(t *testing.T, c *wsClient) {
			require.NoError(t, c.conn.Write(t.Context(), websocket.MessageBinary, []byte{4, 1, 2}))
		}, websocket.StatusUnsupportedData},
		{"a packet that is not Engine.IO", func(t *testing.T, c *wsClient) { c.write(t, "9") }, websocket.StatusPolicyViolation},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _, err := e.dial(t, "", nil)
			require.NoError(t, err)
			c.connect(t, u, e.svc.token(u, time.Time{}))
			tt.send(t, c)
			_, err = c.readUntilClosed(t)
			assert.Equal(t, tt.code, websocket.CloseStatus(err), "%v", err)
			waitFor(t, "socket released", func() bool { return e.hub.Sockets() == 0 })
		})
	}
}

func TestHeartbeat(t *testing.T) {
	e := newEnv(t, func(_ *realtime.HubConfig, c *socketio.HandlerConfig) {
		c.PingInterval = 40 * time.Millisecond
		c.PingTimeout = 200 * time.Millisecond
	})
	u := domain.NewUserID()
	live, _, err := e.dial(t, "", nil)
	require.NoError(t, err)
	live.connect(t, u, e.svc.token(u, time.Time{}))
	for range 5 { // pings come, and answered they keep the socket
		require.Equal(t, "2", live.read(t))
		live.write(t, "3")
	}
	assert.Equal(t, 1, e.hub.Sockets())
	go func() { // and go on answering
		for {
			_, data, err := live.conn.Read(context.Background())
			if err != nil {
				return
			}
			if string(data) == "2" {
				_ = live.conn.Write(context.Background(), websocket.MessageText, []byte("3"))
			}
		}
	}()

	dead, _, err := e.dial(t, "", nil)
	require.NoError(t, err)
	dead.connect(t, u, e.svc.token(u, time.Time{}))
	_, err = dead.readUntilClosed(t) // pings it does not answer
	require.Error(t, err)
	waitFor(t, "the silent socket dropped", func() bool { return e.hub.Sockets() == 1 })
}

func TestTokenExpiryDisconnects(t *testing.T) {
	e := newEnv(t, nil)
	u := domain.NewUserID()
	c, _, err := e.dial(t, "", nil)
	require.NoError(t, err)
	c.connect(t, u, e.svc.token(u, time.Now().Add(300*time.Millisecond)))
	packets, err := c.readUntilClosed(t)
	assert.Equal(t, websocket.StatusNormalClosure, websocket.CloseStatus(err), "%v", err)
	require.Len(t, packets, 2, "%q", packets)
	requireEvent(t, packets[0], domain.EventError, domain.ErrorPayload{Code: "unauthenticated", Message: realtime.CloseExpired.Reason})
	assert.Equal(t, "41", packets[1], "a Socket.IO disconnect: the client does not reconnect with the old token")
}

func TestSlowPollingClientIsClosed(t *testing.T) {
	e := newEnv(t, func(hc *realtime.HubConfig, c *socketio.HandlerConfig) {
		hc.QueueSize = 4
		c.PollBuffer = 64
	})
	u := domain.NewUserID()
	p := e.handshake(t, "")
	p.connect(t, u)
	// The client stops polling: packets fill the buffer, the writer waits,
	// the queue fills, and the socket is closed as too slow.
	ev := domain.Event{Name: domain.EventTypingIndicator, Data: domain.TypingPayload{SenderID: domain.NewUserID(), IsTyping: true}}
	for e.hub.Overflows() == 0 {
		require.NoError(t, e.hub.Notify(t.Context(), []domain.UserID{u}, ev))
	}
	var last []string
	for {
		status, packets := p.get(t)
		if status != http.StatusOK {
			break
		}
		last = packets
	}
	require.GreaterOrEqual(t, len(last), 2, "%q", last)
	requireEvent(t, last[len(last)-2], domain.EventError, domain.ErrorPayload{Code: "unavailable", Message: realtime.CloseTooSlow.Reason})
	assert.Equal(t, "1", last[len(last)-1], "the Engine.IO close: the client reconnects and resumes")
	waitFor(t, "socket released", func() bool { return e.hub.Sockets() == 0 })
}

func TestSessionWithoutConnectIsClosed(t *testing.T) {
	e := newEnv(t, func(_ *realtime.HubConfig, c *socketio.HandlerConfig) { c.ConnectTimeout = 50 * time.Millisecond })
	p := e.handshake(t, "")
	status, packets := p.get(t) // waits until the session is closed
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, []string{"1"}, packets)
	status, _ = p.get(t)
	assert.Equal(t, http.StatusBadRequest, status)

	c, _, err := e.dial(t, "", nil)
	require.NoError(t, err)
	c.open(t)
	_, err = c.readUntilClosed(t)
	require.Error(t, err)
}

func TestDrainEndsPollingSessions(t *testing.T) {
	e := newEnv(t, nil)
	u := domain.NewUserID()
	p := e.handshake(t, "")
	p.connect(t, u)
	waiting := e.handshake(t, "")

	var wg sync.WaitGroup
	wg.Add(1)
	var packets []string
	go func() { // a long poll, parked
		defer wg.Done()
		_, packets = p.get(t)
	}()
	e.handler.Drain()
	wg.Wait()
	require.Len(t, packets, 2, "%q", packets)
	requireEvent(t, packets[0], domain.EventError, domain.ErrorPayload{Code: "unavailable", Message: realtime.CloseShutdown.Reason})
	assert.Equal(t, "1", packets[1])
	status, rest := waiting.get(t)
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, []string{"1"}, rest, "a session not connected yet ends too")
	status, body, _ := e.request(t, "GET", e.url("transport=polling"), "", nil)
	assert.Equal(t, http.StatusServiceUnavailable, status, body)
}

func TestUpgrade(t *testing.T) {
	e := newEnv(t, nil)
	a, b := domain.NewUserID(), domain.NewUserID()
	conv, err := domain.NewConversationID(a, b)
	require.NoError(t, err)
	p := e.handshake(t, "")
	p.connect(t, a)

	c, _, err := e.dial(t, "&sid="+p.open.SID, nil)
	require.NoError(t, err)
	c.write(t, "2probe")
	require.Equal(t, "3probe", c.read(t))
	status, packets := p.get(t)
	require.Equal(t, http.StatusOK, status)
	assert.Equal(t, []string{"6"}, packets, "the waiting poll is released with a noop")
	// An event queued before the switch waits for it, and goes out first on
	// the WebSocket.
	require.NoError(t, e.hub.Notify(t.Context(), []domain.UserID{a}, domain.Event{Name: domain.EventChatRegistered,
		Data: domain.ConversationPayload{ConversationID: conv}}))
	c.write(t, "5")
	requireEvent(t, c.readSkippingPings(t), domain.EventChatRegistered, map[string]any{"conversationId": string(conv)})

	// The WebSocket carries the session both ways now; polling is over.
	c.write(t, `421["joinChat",{"conversationId":"`+string(conv)+`"}]`)
	requireEvent(t, c.readSkippingPings(t), domain.EventChatRegistered, map[string]any{"conversationId": string(conv)})
	assert.Equal(t, `431[{"conversationId":"`+string(conv)+`"}]`, c.readSkippingPings(t))
	status, _ = p.get(t)
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Equal(t, 1, e.hub.Sockets())

	c.write(t, "1") // the Engine.IO close
	waitFor(t, "socket released", func() bool { return e.hub.Sockets() == 0 })
}

func TestFailedProbeKeepsPolling(t *testing.T) {
	e := newEnv(t, nil)
	a := domain.NewUserID()
	p := e.handshake(t, "")
	p.connect(t, a)
	c, _, err := e.dial(t, "&sid="+p.open.SID, nil)
	require.NoError(t, err)
	c.write(t, "2nope")
	_, err = c.readUntilClosed(t)
	require.Error(t, err)
	// Polling goes on: a typing event reaches the socket by a GET.
	require.NoError(t, e.hub.Notify(t.Context(), []domain.UserID{a}, domain.Event{Name: domain.EventNewFriendRequest, Data: map[string]int{"n": 1}}))
	var buf []string
	requireEvent(t, p.next(t, &buf), domain.EventNewFriendRequest, map[string]int{"n": 1})
}

// TestResumeAnnounced: a client that announces a resume (auth.resume, or
// resume=1 on the handshake) gets live messages after its resume; one that
// announces none gets them at once.
func TestResumeAnnounced(t *testing.T) {
	e := newEnv(t, func(_ *realtime.HubConfig, c *socketio.HandlerConfig) { c.ResumeGrace = time.Minute })
	tests := []struct {
		name, query, auth string
		hold              bool
	}{
		{"none", "", `{"token":"%s"}`, false},
		{"auth.resume", "", `{"token":"%s","resume":true}`, true},
		{"auth.resume false", "", `{"token":"%s","resume":false}`, false},
		{"resume=1", "&resume=1", `{"token":"%s"}`, true},
		{"auth.resume false wins over resume=1", "&resume=1", `{"token":"%s","resume":false}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := domain.NewUserID(), domain.NewUserID()
			conv, err := domain.NewConversationID(a, b)
			require.NoError(t, err)
			p := e.handshake(t, tt.query)
			require.Equal(t, http.StatusOK, p.post(t, "40"+strings.Replace(tt.auth, "%s", e.svc.token(a, time.Time{}), 1)))
			var buf []string
			require.True(t, strings.HasPrefix(p.next(t, &buf), `40{"sid":`))
			requireEvent(t, p.next(t, &buf), domain.EventRegistered, map[string]any{"userId": string(a)})

			m := domain.Message{ID: domain.DeriveMessageID(b, "c1"), ClientMessageID: "c1", ConversationID: conv, Sequence: 1,
				SenderID: b, ReceiverID: a, Text: "hi", Type: domain.MessageText, SentAt: time.Now().UTC()}
			require.NoError(t, e.hub.Notify(t.Context(), []domain.UserID{a}, domain.NewMessageEvent(m)))
			// joinChat is answered after anything queued before it: the live
			// message comes first unless it is held for the resume.
			require.Equal(t, http.StatusOK, p.post(t, `42["joinChat",{"conversationId":"`+string(conv)+`"}]`))
			first := p.next(t, &buf)
			if !tt.hold {
				assert.True(t, strings.HasPrefix(first, `42["newMessage",`), first)
				return
			}
			requireEvent(t, first, domain.EventChatRegistered, map[string]any{"conversationId": string(conv)})
			require.Equal(t, http.StatusOK, p.post(t, `42["resume",{"conversations":{}}]`))
			held := p.next(t, &buf)
			assert.True(t, strings.HasPrefix(held, `42["newMessage",`), held)
		})
	}
}

// TestSessionEndsDuringUpgrade: a client that leaves while its upgrade is
// probed gets its WebSocket closed, not left open without a reader.
func TestSessionEndsDuringUpgrade(t *testing.T) {
	e := newEnv(t, nil)
	a := domain.NewUserID()
	p := e.handshake(t, "")
	p.connect(t, a)
	c, _, err := e.dial(t, "&sid="+p.open.SID, nil)
	require.NoError(t, err)
	c.write(t, "2probe")
	require.Equal(t, "3probe", c.read(t))
	require.Equal(t, http.StatusOK, p.post(t, "41", "1"))
	waitFor(t, "socket released", func() bool { return e.hub.Sockets() == 0 })
	c.write(t, "5")
	_, err = c.readUntilClosed(t)
	require.Error(t, err)
}
