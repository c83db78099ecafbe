package websocket_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"slices"
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
)

// notify sends m as newMessage to users through the hub.
func notify(t *testing.T, e *env, m domain.Message, users ...domain.UserID) {
	t.Helper()
	require.NoError(t, e.hub.Notify(context.Background(), users, domain.NewMessageEvent(m)))
}

func TestNotifyDeliversToEverySocketOfEachUser(t *testing.T) {
	e := newEnv(t, nil)
	a, b, _ := pair(t)
	other := domain.NewUserID()
	a1, a2, b1, o := e.dial(t, a), e.dial(t, a), e.dial(t, b), e.dial(t, other)
	require.Equal(t, 4, e.hub.Sockets())

	m := e.svc.appendMessage(b, a)
	notify(t, e, m, a, b)
	for name, c := range map[string]*client{"a1": a1, "a2": a2, "b1": b1} {
		got := c.readMessage(t)
		assert.Equal(t, m.ID, got.ID, name)
		assert.Equal(t, m.Sequence, got.Sequence, name)
		assert.Equal(t, m.Text, got.Text, name)
	}

	// The bystander got nothing: its next frame is the one addressed to it.
	require.NoError(t, e.hub.Notify(context.Background(), []domain.UserID{other},
		domain.Event{Name: domain.EventNewFriendRequest, Data: domain.UserPayload{User: domain.User{ID: a}}}))
	var p domain.UserPayload
	o.readEvent(t, domain.EventNewFriendRequest, &p)
	assert.Equal(t, a, p.User.ID)

	// A user without a socket here is skipped without error.
	require.NoError(t, e.hub.Notify(context.Background(), []domain.UserID{domain.NewUserID()}, domain.NewMessageEvent(m)))
}

func TestNotifyRejectsUnencodableEvent(t *testing.T) {
	e := newEnv(t, nil)
	err := e.hub.Notify(context.Background(), []domain.UserID{domain.NewUserID()}, domain.Event{Name: "x", Data: make(chan int)})
	require.Error(t, err)
	assert.Equal(t, domain.KindInvalid, domain.KindOf(err))
}

func TestSlowClientClosedWithReconnectCode(t *testing.T) {
	e := newEnv(t, func(hc *realtime.HubConfig, h *ws.HandlerConfig) {
		hc.QueueSize = 16
		h.WriteTimeout = 30 * time.Second // the slow client is slow, not dead
	})
	slowUser, fastUser := domain.NewUserID(), domain.NewUserID()
	slow, fast := e.dial(t, slowUser), e.dial(t, fastUser)

	// The slow client reads nothing: once the TCP buffers are full its writer
	// blocks and its queue overflows. The fast client reads each event.
	pad := strings.Repeat("x", 32<<10)
	sent := 0
	for e.hub.Overflows() == 0 {
		require.Less(t, sent, 5000, "the slow socket never overflowed")
		ev := domain.Event{Name: domain.EventNewFriendRequest, Data: map[string]any{"i": sent, "pad": pad}}
		require.NoError(t, e.hub.Notify(context.Background(), []domain.UserID{slowUser, fastUser}, ev))
		var got struct{ I int }
		fast.readEvent(t, domain.EventNewFriendRequest, &got)
		require.Equal(t, sent, got.I)
		sent++
	}

	// The fast socket is unaffected.
	for i := range 20 {
		require.NoError(t, e.hub.Notify(context.Background(), []domain.UserID{slowUser, fastUser},
			domain.Event{Name: domain.EventNewFriendRequest, Data: map[string]any{"i": sent + i}}))
		var got struct{ I int }
		fast.readEvent(t, domain.EventNewFriendRequest, &got)
		require.Equal(t, sent+i, got.I)
	}

	// The slow client, reading at last, gets what was written before the
	// overflow and then the reconnect close.
	frames, err := slow.readUntilClosed(t, 20*time.Second)
	requireCloseStatus(t, err, websocket.StatusTryAgainLater, "reconnect: client too slow")
	assert.Less(t, frames, sent, "frames queued after the overflow must be dropped")
	assert.EqualValues(t, 1, e.hub.Overflows())
	waitFor(t, "slow socket released", func() bool { return e.hub.Sockets() == 1 })
}

func TestResumeReplaysThenGoesLive(t *testing.T) {
	tests := []struct {
		name   string
		stored int
		cursor domain.Sequence
		want   []domain.Sequence
	}{
		{name: "from the start", stored: 5, cursor: 0, want: []domain.Sequence{1, 2, 3, 4, 5}},
		{name: "from the middle", stored: 5, cursor: 3, want: []domain.Sequence{4, 5}},
		{name: "up to date", stored: 5, cursor: 5, want: nil},
		{name: "several pages", stored: 23, cursor: 1, want: seqRange(2, 23)},
		{name: "empty conversation", stored: 0, cursor: 0, want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, func(_ *realtime.HubConfig, h *ws.HandlerConfig) { h.ReplayPageSize = 4 })
			a, b, conv := pair(t)
			for range tt.stored {
				e.svc.appendMessage(b, a)
			}
			c := e.dial(t, a)
			c.send(t, domain.EventResume, map[string]any{"conversations": map[domain.ConversationID]domain.Sequence{conv: tt.cursor}})
			// A reply to a later frame comes after the whole replay.
			c.send(t, domain.EventJoinChat, map[string]any{"conversationId": conv})
			var got []domain.Sequence
			for range tt.want {
				m := c.readMessage(t)
				assert.Equal(t, conv, m.ConversationID)
				got = append(got, m.Sequence)
			}
			assert.Equal(t, tt.want, got)
			c.readEvent(t, domain.EventChatRegistered, nil)

			// Then live, with nothing repeated: the new message, then the
			// reply to the next frame.
			next := e.svc.appendMessage(a, b)
			notify(t, e, next, a, b)
			assert.Equal(t, next.Sequence, c.readMessage(t).Sequence)
			c.send(t, domain.EventJoinChat, map[string]any{"conversationId": conv})
			c.readEvent(t, domain.EventChatRegistered, nil)
		})
	}
}

func TestResumeUnderConcurrentSends(t *testing.T) {
	const stored, live, cursor = 100, 100, 20
	e := newEnv(t, func(_ *realtime.HubConfig, h *ws.HandlerConfig) { h.ReplayPageSize = 10 })
	a, b, conv := pair(t)
	for range stored {
		e.svc.appendMessage(b, a)
	}

	// The first history call starts a sender that stores and publishes live
	// messages, and waits until a third of them are out, so that live frames
	// queue up while the replay runs and the store grows under it.
	publishing := make(chan struct{})
	published := make(chan struct{})
	var start sync.Once
	e.svc.onHistory = func(int, domain.ConversationID, domain.Page) error {
		start.Do(func() {
			go func() {
				defer close(published)
				for i := range live {
					m := e.svc.appendMessage(b, a)
					_ = e.hub.Notify(context.Background(), []domain.UserID{a, b}, domain.NewMessageEvent(m))
					if i == live/3 {
						close(publishing)
					}
					time.Sleep(200 * time.Microsecond)
				}
			}()
			<-publishing
		})
		time.Sleep(time.Millisecond)
		return nil
	}

	c := e.dial(t, a)
	c.send(t, domain.EventResume, map[string]any{"conversations": map[domain.ConversationID]domain.Sequence{conv: cursor}})
	var got []domain.Sequence
	for len(got) == 0 || got[len(got)-1] < stored+live {
		m := c.readMessage(t)
		got = append(got, m.Sequence)
		require.LessOrEqual(t, len(got), stored+live, "too many frames: %v", got)
	}
	assert.Equal(t, seqRange(cursor+1, stored+live), got, "every message after the cursor, once, in order")
	<-published

	e.svc.mu.Lock()
	calls := e.svc.history
	e.svc.mu.Unlock()
	assert.GreaterOrEqual(t, calls, (stored-cursor)/10, "the replay must have paged")

	next := e.svc.appendMessage(a, b)
	notify(t, e, next, a)
	assert.Equal(t, next.Sequence, c.readMessage(t).Sequence)
}

func TestResumeErrorsPerConversation(t *testing.T) {
	e := newEnv(t, nil)
	a, b, conv := pair(t)
	_, _, foreign := pair(t)
	e.svc.appendMessage(b, a)
	e.svc.appendMessage(a, b)
	c := e.dial(t, a)
	c.send(t, domain.EventResume, map[string]any{"conversations": map[domain.ConversationID]domain.Sequence{conv: 0, foreign: 0}})

	// Conversations are replayed in id order; the foreign one fails alone.
	var msgs []domain.Sequence
	var errs []domain.ErrorPayload
	for range 3 {
		name, data := c.read(t)
		switch name {
		case domain.EventNewMessage:
			var m domain.Message
			require.NoError(t, json.Unmarshal(data, &m))
			msgs = append(msgs, m.Sequence)
		case domain.EventError:
			var p domain.ErrorPayload
			require.NoError(t, json.Unmarshal(data, &p))
			errs = append(errs, p)
		default:
			t.Fatalf("unexpected event %s", name)
		}
	}
	assert.Equal(t, []domain.Sequence{1, 2}, msgs)
	require.Len(t, errs, 1)
	assert.Equal(t, "forbidden", errs[0].Code)

	c.send(t, domain.EventJoinChat, map[string]any{"conversationId": conv})
	c.readEvent(t, domain.EventChatRegistered, nil)
}

func TestLiveGapIsFilledAndDuplicatesDropped(t *testing.T) {
	e := newEnv(t, nil)
	a, b, _ := pair(t)
	c := e.dial(t, a)

	m1 := e.svc.appendMessage(b, a)
	notify(t, e, m1, a)
	assert.Equal(t, domain.Sequence(1), c.readMessage(t).Sequence)

	m2 := e.svc.appendMessage(b, a) // its event is lost on the way
	m3 := e.svc.appendMessage(b, a)
	notify(t, e, m3, a)
	assert.Equal(t, domain.Sequence(2), c.readMessage(t).Sequence, "the gap is filled from history first")
	assert.Equal(t, domain.Sequence(3), c.readMessage(t).Sequence)

	// Late and repeated events, typed or already encoded by another node.
	notify(t, e, m3, a)
	notify(t, e, m2, a)
	raw2, err := json.Marshal(m2)
	require.NoError(t, err)
	require.NoError(t, e.hub.Notify(context.Background(), []domain.UserID{a}, domain.Event{Name: domain.EventNewMessage, Data: json.RawMessage(raw2)}))

	m4 := e.svc.appendMessage(a, b)
	raw4, err := json.Marshal(m4)
	require.NoError(t, err)
	require.NoError(t, e.hub.Notify(context.Background(), []domain.UserID{a}, domain.Event{Name: domain.EventNewMessage, Data: json.RawMessage(raw4)}))
	got := c.readMessage(t)
	assert.Equal(t, domain.Sequence(4), got.Sequence, "duplicates must be dropped")
	assert.Equal(t, m4.ID, got.ID)

	notify(t, e, m4, a)
	m5 := e.svc.appendMessage(b, a)
	notify(t, e, m5, a)
	assert.Equal(t, domain.Sequence(5), c.readMessage(t).Sequence)
}

func TestGapFillFailureStillDeliversLive(t *testing.T) {
	e := newEnv(t, nil)
	e.svc.onHistory = func(int, domain.ConversationID, domain.Page) error {
		return domain.Errorf(domain.KindUnavailable, "store down")
	}
	a, b, _ := pair(t)
	c := e.dial(t, a)
	notify(t, e, e.svc.appendMessage(b, a), a)
	assert.Equal(t, domain.Sequence(1), c.readMessage(t).Sequence)
	e.svc.appendMessage(b, a)
	notify(t, e, e.svc.appendMessage(b, a), a)
	assert.Equal(t, domain.Sequence(3), c.readMessage(t).Sequence, "the live message goes out despite the failed fill")
	notify(t, e, e.svc.appendMessage(b, a), a)
	assert.Equal(t, domain.Sequence(4), c.readMessage(t).Sequence)
}

func TestShutdownClosesSocketsAndWaits(t *testing.T) {
	presence := newFakePresence()
	e := newEnv(t, func(hc *realtime.HubConfig, _ *ws.HandlerConfig) { hc.Presence = presence })
	runDone := make(chan error, 1)
	go func() { runDone <- e.hub.Run(context.Background()) }()

	a, b, _ := pair(t)
	clients := []*client{e.dial(t, a), e.dial(t, a), e.dial(t, b)}
	closed := make(chan error, len(clients))
	for _, c := range clients {
		go func() {
			for {
				if _, _, err := c.conn.Read(context.Background()); err != nil {
					closed <- err
					return
				}
			}
		}()
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, e.hub.Shutdown(ctx))
	assert.Equal(t, 0, e.hub.Sockets(), "Shutdown returns after every socket is released")
	for range clients {
		select {
		case err := <-closed:
			requireCloseStatus(t, err, websocket.StatusGoingAway, "server shutting down, reconnect")
		case <-time.After(10 * time.Second):
			t.Fatal("a client was not closed")
		}
	}
	for _, u := range []domain.UserID{a, b} {
		online, _, unregs := presence.state(u)
		assert.False(t, online)
		assert.Equal(t, 1, unregs)
	}
	select {
	case err := <-runDone:
		assert.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after Shutdown")
	}

	require.NoError(t, e.hub.Shutdown(ctx), "Shutdown is idempotent")
	_, resp, err := e.dialWith(t, e.url, http.Header{"Authorization": {"Bearer " + e.svc.token(a)}})
	require.Error(t, err)
	require.NotNil(t, resp)
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
}

func TestShutdownDeadlineCutsUnresponsiveSockets(t *testing.T) {
	e := newEnv(t, nil)
	e.dial(t, domain.NewUserID()) // never reads: it will not answer the close handshake

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	began := time.Now()
	err := e.hub.Shutdown(ctx)
	require.ErrorIs(t, err, context.DeadlineExceeded)

	// The library would wait 5 s for the peer's close frame; the deadline cut it.
	waitFor(t, "socket released", func() bool { return e.hub.Sockets() == 0 })
	assert.Less(t, time.Since(began), 4*time.Second)
	ctx2, cancel2 := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel2()
	require.NoError(t, e.hub.Shutdown(ctx2))
}

func TestPresenceFollowsSockets(t *testing.T) {
	presence := newFakePresence()
	e := newEnv(t, func(hc *realtime.HubConfig, _ *ws.HandlerConfig) {
		hc.Presence = presence
		hc.Node = "node-7"
	})
	a := domain.NewUserID()

	c1 := e.dial(t, a)
	waitFor(t, "registration", func() bool { online, _, _ := presence.state(a); return online })
	_, regs, unregs := presence.state(a)
	assert.Equal(t, 1, regs)
	assert.Zero(t, unregs)

	c2 := e.dial(t, a)
	_, regs, _ = presence.state(a)
	assert.Equal(t, 1, regs, "a second socket does not register again")

	require.NoError(t, c1.conn.Close(websocket.StatusNormalClosure, ""))
	waitFor(t, "first socket released", func() bool { return e.hub.Sockets() == 1 })
	online, _, unregs := presence.state(a)
	assert.True(t, online, "still online while a socket remains")
	assert.Zero(t, unregs)

	require.NoError(t, c2.conn.Close(websocket.StatusNormalClosure, ""))
	waitFor(t, "last socket released", func() bool {
		online, _, unregs := presence.state(a)
		return !online && unregs == 1
	})
	presence.mu.Lock()
	assert.Equal(t, "node-7", string(presence.node))
	presence.mu.Unlock()
}

// A client that read registered is reachable through presence: a peer's
// message routed by presence from then on finds it, even when the presence
// store is slow.
func TestRegisteredFollowsPresence(t *testing.T) {
	presence := newFakePresence()
	presence.delay = 300 * time.Millisecond
	e := newEnv(t, func(hc *realtime.HubConfig, _ *ws.HandlerConfig) { hc.Presence = presence })
	a := domain.NewUserID()
	e.dial(t, a)
	online, regs, _ := presence.state(a)
	assert.True(t, online, "presence recorded before registered was written")
	assert.Equal(t, 1, regs)
}

func TestPresenceHeartbeat(t *testing.T) {
	presence := newFakePresence()
	e := newEnv(t, func(hc *realtime.HubConfig, _ *ws.HandlerConfig) {
		hc.Presence = presence
		hc.Heartbeat = 10 * time.Millisecond
	})
	ctx, cancel := context.WithCancel(context.Background())
	runDone := make(chan error, 1)
	go func() { runDone <- e.hub.Run(ctx) }()

	a, b := domain.NewUserID(), domain.NewUserID()
	e.dial(t, a)
	cb := e.dial(t, b)
	waitFor(t, "heartbeats", func() bool { _, regs, _ := presence.state(a); return regs >= 3 })

	require.NoError(t, cb.conn.Close(websocket.StatusNormalClosure, ""))
	waitFor(t, "b unregistered", func() bool { online, _, unregs := presence.state(b); return !online && unregs >= 1 })
	_, regsB, _ := presence.state(b)
	_, regsA, _ := presence.state(a)
	waitFor(t, "more heartbeats", func() bool { _, regs, _ := presence.state(a); return regs >= regsA+3 })
	online, regsB2, _ := presence.state(b)
	assert.False(t, online, "a user who left is not re-registered")
	assert.Equal(t, regsB, regsB2)

	cancel()
	select {
	case err := <-runDone:
		assert.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return")
	}
}

func TestPresenceErrorsDoNotFailSockets(t *testing.T) {
	presence := newFakePresence()
	presence.err = domain.Errorf(domain.KindUnavailable, "redis down")
	e := newEnv(t, func(hc *realtime.HubConfig, _ *ws.HandlerConfig) { hc.Presence = presence })
	a, b, _ := pair(t)
	c := e.dial(t, a)
	waitFor(t, "registration attempt", func() bool { _, regs, _ := presence.state(a); return regs == 1 })

	m := e.svc.appendMessage(b, a)
	notify(t, e, m, a)
	assert.Equal(t, m.ID, c.readMessage(t).ID)

	require.NoError(t, c.conn.Close(websocket.StatusNormalClosure, ""))
	waitFor(t, "unregister attempted", func() bool { _, _, unregs := presence.state(a); return unregs == 1 })
	waitFor(t, "socket released", func() bool { return e.hub.Sockets() == 0 })
}

func TestNewHubValidates(t *testing.T) {
	tests := []struct {
		name string
		cfg  realtime.HubConfig
	}{
		{name: "presence without node", cfg: realtime.HubConfig{Presence: newFakePresence()}},
		{name: "negative queue", cfg: realtime.HubConfig{QueueSize: -1}},
		{name: "negative heartbeat", cfg: realtime.HubConfig{Heartbeat: -time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := realtime.NewHub(tt.cfg)
			require.Error(t, err)
			assert.Equal(t, domain.KindInvalid, domain.KindOf(err))
		})
	}
}

func seqRange(from, to domain.Sequence) []domain.Sequence {
	var out []domain.Sequence
	for s := from; s <= to; s++ {
		out = append(out, s)
	}
	return out
}

// liveBeforeResume stores messages 1-3 from b to a, opens a socket of a that
// announces a resume with the given resume grace, and notifies message 4 live
// before any resume.
func liveBeforeResume(t *testing.T, grace time.Duration) (e *env, a, b domain.UserID, conv domain.ConversationID, c *client, live domain.Message) {
	e = newEnv(t, func(_ *realtime.HubConfig, h *ws.HandlerConfig) { h.ResumeGrace = grace })
	a, b, conv = pair(t)
	for range 3 {
		e.svc.appendMessage(b, a)
	}
	c = e.dialResuming(t, a)
	live = e.svc.appendMessage(b, a)
	notify(t, e, live, a)
	return e, a, b, conv, c, live
}

func TestLiveMessagesWaitForTheFirstResume(t *testing.T) {
	// A message newer than the client's cursor goes live before its resume.
	e, a, b, conv, c, _ := liveBeforeResume(t, time.Minute)
	c.send(t, domain.EventResume, map[string]any{"conversations": map[domain.ConversationID]domain.Sequence{conv: 1}})
	var got []domain.Sequence
	for range 3 {
		got = append(got, c.readMessage(t).Sequence)
	}
	assert.Equal(t, []domain.Sequence{2, 3, 4}, got, "replay first, the held live message once, in order")
	next := e.svc.appendMessage(b, a)
	notify(t, e, next, a)
	assert.Equal(t, next.Sequence, c.readMessage(t).Sequence)
}

func TestLiveMessagesFlowWithoutResumeAfterTheGrace(t *testing.T) {
	e := newEnv(t, func(_ *realtime.HubConfig, h *ws.HandlerConfig) { h.ResumeGrace = 50 * time.Millisecond })
	a, b, _ := pair(t)
	c := e.dialResuming(t, a) // and then never resumes
	m := e.svc.appendMessage(b, a)
	notify(t, e, m, a)
	start := time.Now()
	assert.Equal(t, m.Sequence, c.readMessage(t).Sequence)
	assert.Less(t, time.Since(start), 5*time.Second)
}

// TestOnlyClientsThatAnnounceAResumeWait: a client that never resumes (one
// written for the guide) gets live messages at once, even with a long grace.
func TestOnlyClientsThatAnnounceAResumeWait(t *testing.T) {
	e := newEnv(t, func(_ *realtime.HubConfig, h *ws.HandlerConfig) { h.ResumeGrace = time.Hour })
	a, b, conv := pair(t)
	plain, resuming := e.dial(t, a), e.dialResuming(t, a)
	for _, query := range []string{"?resume=0", "?resume="} {
		_ = e.dialQuery(t, a, query) // also no announcement; never read
	}
	m := e.svc.appendMessage(b, a)
	notify(t, e, m, a)
	assert.Equal(t, m.Sequence, plain.readMessage(t).Sequence, "no wait without resume=1")

	// The socket that announced one holds the message until its resume;
	// the replay brings it, once.
	resuming.send(t, domain.EventJoinChat, map[string]any{"conversationId": conv})
	resuming.readEvent(t, domain.EventChatRegistered, nil)
	resuming.send(t, domain.EventResume, map[string]any{"conversations": map[domain.ConversationID]domain.Sequence{conv: 0}})
	assert.Equal(t, m.Sequence, resuming.readMessage(t).Sequence)
	next := e.svc.appendMessage(b, a)
	notify(t, e, next, a)
	assert.Equal(t, next.Sequence, resuming.readMessage(t).Sequence, "the held copy was a repeat")
	assert.Equal(t, next.Sequence, plain.readMessage(t).Sequence)
}

func TestResumeParameterMustBeOneOrZero(t *testing.T) {
	e := newEnv(t, nil)
	for _, v := range []string{"yes", "2", "true"} {
		_, resp, err := e.dialWith(t, e.url+"?resume="+v, http.Header{"Authorization": {"Bearer " + e.svc.token(domain.NewUserID())}})
		require.Error(t, err)
		require.NotNil(t, resp)
		assert.Equal(t, http.StatusBadRequest, resp.StatusCode, v)
	}
}

// TestEmptyResumeEndsTheWait: a client that announced a resume but has no
// cursor sends an empty one and goes live at once, not after the grace.
func TestEmptyResumeEndsTheWait(t *testing.T) {
	e := newEnv(t, func(_ *realtime.HubConfig, h *ws.HandlerConfig) { h.ResumeGrace = time.Hour })
	a, b, _ := pair(t)
	c := e.dialResuming(t, a)
	m := e.svc.appendMessage(b, a)
	notify(t, e, m, a)
	c.send(t, domain.EventResume, map[string]any{"conversations": map[string]int{}})
	assert.Equal(t, m.Sequence, c.readMessage(t).Sequence)
}

func TestLateResumeSendsOnlyWhatTheSocketHasNotSent(t *testing.T) {
	tests := []struct {
		name   string
		cursor domain.Sequence
		want   []domain.Sequence
	}{
		{name: "cursor below the first live message", cursor: 1, want: []domain.Sequence{2, 3, 5}},
		{name: "cursor just below it", cursor: 3, want: []domain.Sequence{5}},
		{name: "cursor at it", cursor: 4, want: []domain.Sequence{5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The grace ends before the resume: message 4 goes out live.
			e, a, b, conv, c, live := liveBeforeResume(t, 10*time.Millisecond)
			require.Equal(t, live.Sequence, c.readMessage(t).Sequence)
			// Message 5 is stored but its live event comes only after the resume.
			stored := e.svc.appendMessage(b, a)

			c.send(t, domain.EventResume, map[string]any{"conversations": map[domain.ConversationID]domain.Sequence{conv: tt.cursor}})
			c.send(t, domain.EventJoinChat, map[string]any{"conversationId": conv})
			var got []domain.Sequence
			for range tt.want {
				got = append(got, c.readMessage(t).Sequence)
			}
			assert.Equal(t, tt.want, got, "what the client lacks, once; nothing the socket already sent")
			c.readEvent(t, domain.EventChatRegistered, nil)

			// The late live event of 5 is a repeat and is dropped; 6 comes.
			notify(t, e, stored, a)
			next := e.svc.appendMessage(b, a)
			notify(t, e, next, a)
			assert.Equal(t, next.Sequence, c.readMessage(t).Sequence)
		})
	}
}

func TestPresenceHeartbeatInBatches(t *testing.T) {
	presence := &fakeBatchPresence{fakePresence: newFakePresence()}
	e := newEnv(t, func(hc *realtime.HubConfig, _ *ws.HandlerConfig) {
		hc.Presence = presence
		hc.Heartbeat = 20 * time.Millisecond
	})
	a, b := domain.NewUserID(), domain.NewUserID()
	e.dial(t, a)
	cb := e.dial(t, b)
	waitFor(t, "registrations", func() bool {
		onA, _, _ := presence.state(a)
		onB, _, _ := presence.state(b)
		return onA && onB
	})
	// b leaves while a heartbeat batch naming b is on its way: the batch
	// lands after b's Unregister, and the hub must settle b again.
	var once sync.Once
	presence.beforeBatch = func(users []domain.UserID) {
		if !slices.Contains(users, b) {
			return
		}
		once.Do(func() { // on the hub's goroutine: no require here
			assert.NoError(t, cb.conn.Close(websocket.StatusNormalClosure, ""))
			for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
				if _, _, unregs := presence.state(b); unregs >= 1 {
					return
				}
			}
			t.Error("b was not unregistered within 5 s")
		})
	}

	ctx, cancel := context.WithCancel(context.Background())
	runDone := make(chan error, 1)
	go func() { runDone <- e.hub.Run(ctx) }()
	waitFor(t, "heartbeats", func() bool { return presence.batchCount() >= 3 })
	cancel()
	require.NoError(t, <-runDone)

	_, regsA, _ := presence.state(a)
	assert.GreaterOrEqual(t, regsA, 3, "a is refreshed by every batch")
	onB, _, unregsB := presence.state(b)
	assert.False(t, onB, "b, registered again by the late batch, is removed")
	assert.GreaterOrEqual(t, unregsB, 2)
}

func TestStalledClientDroppedAfterWriteTimeout(t *testing.T) {
	e := newEnv(t, func(hc *realtime.HubConfig, h *ws.HandlerConfig) {
		hc.QueueSize = 4096 // the queue never overflows: the write timeout acts
		h.WriteTimeout = 300 * time.Millisecond
	})
	u := domain.NewUserID()
	c := e.dial(t, u)
	defer c.conn.CloseNow()

	// The client reads nothing: once the TCP buffers are full, a frame write
	// blocks, and the socket is dropped WriteTimeout later.
	pad := strings.Repeat("x", 256<<10)
	start := time.Now()
	for i := 0; e.hub.Sockets() == 1; i++ {
		require.Less(t, time.Since(start), 10*time.Second, "a stalled socket was kept")
		if i < 200 { // 50 MB, far more than loopback buffers take
			require.NoError(t, e.hub.Notify(context.Background(), []domain.UserID{u},
				domain.Event{Name: domain.EventNewFriendRequest, Data: map[string]any{"i": i, "pad": pad}}))
		}
		time.Sleep(10 * time.Millisecond)
	}
	assert.Zero(t, e.hub.Overflows(), "dropped by the write timeout, not the queue")
}

// TestResumeCursorAheadOfTheStore: a cursor above what the store holds (a
// restored backup, a client bug) is not taken as sent: the client is told to
// resync, and the messages stored next, under and above the old cursor, all
// go out.
func TestResumeCursorAheadOfTheStore(t *testing.T) {
	e := newEnv(t, nil)
	a, b, conv := pair(t)
	e.svc.appendMessage(b, a)
	e.svc.appendMessage(a, b)
	c := e.dialResuming(t, a)
	c.send(t, domain.EventResume, map[string]any{"conversations": map[domain.ConversationID]domain.Sequence{conv: 5}})
	var p domain.ResyncPayload
	c.readEvent(t, domain.EventResync, &p)
	assert.Equal(t, domain.ResyncPayload{ConversationID: conv, LastSequenceID: 2}, p)

	for range 4 {
		m := e.svc.appendMessage(b, a)
		notify(t, e, m, a)
		got := c.readMessage(t)
		assert.Equal(t, m.Sequence, got.Sequence)
		assert.Equal(t, m.ID, got.ID)
	}
}

// TestSequenceReusedIsDeliveredAndCounted: a message under a sequence the
// socket sent under another id breaks a guarantee upstream; it is delivered
// (clients deduplicate by messageId), counted and logged as an error, never
// dropped.
func TestSequenceReusedIsDeliveredAndCounted(t *testing.T) {
	var logs lockedBuffer
	e := newEnv(t, func(_ *realtime.HubConfig, h *ws.HandlerConfig) {
		h.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
	})
	a, b, _ := pair(t)
	c := e.dial(t, a)
	m := e.svc.appendMessage(b, a)
	notify(t, e, m, a)
	assert.Equal(t, m.ID, c.readMessage(t).ID)

	other := m
	other.ID, other.ClientMessageID, other.Text = domain.DeriveMessageID(b, "other"), "other", "another message"
	notify(t, e, other, a) // as encoded by this node
	raw, err := json.Marshal(other)
	require.NoError(t, err)
	require.NoError(t, e.hub.Notify(context.Background(), []domain.UserID{a}, domain.Event{Name: domain.EventNewMessage, Data: json.RawMessage(raw)}))
	notify(t, e, m, a) // a plain repeat is still dropped
	for range 2 {
		got := c.readMessage(t)
		assert.Equal(t, other.ID, got.ID)
		assert.Equal(t, m.Sequence, got.Sequence)
	}
	assert.EqualValues(t, 2, e.hub.SequenceReuses())
	reported := 0
	for line := range strings.Lines(logs.String()) {
		var rec struct {
			Level, Msg string
			MessageID  domain.MessageID `json:"messageId"`
			Sequence   domain.Sequence  `json:"sequence"`
		}
		require.NoError(t, json.Unmarshal([]byte(line), &rec))
		if strings.Contains(rec.Msg, "a sequence came again under another message id") {
			reported++
			assert.Equal(t, "ERROR", rec.Level)
			assert.Equal(t, other.ID, rec.MessageID)
			assert.Equal(t, m.Sequence, rec.Sequence)
		}
	}
	assert.Equal(t, 2, reported, "each reuse logged:\n%s", logs.String())

	next := e.svc.appendMessage(b, a)
	notify(t, e, next, a)
	assert.Equal(t, next.ID, c.readMessage(t).ID)
}

// lockedBuffer is a bytes.Buffer safe for the socket writers' logging.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
