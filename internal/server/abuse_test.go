package server_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/client"
	"github.com/messenger-go/messenger/domain"
)

// The tests in this file replay the abuse of one client against the others
// on the embedded default: each failed before the limit that stops it.

// closing is a socket a test reads to its end.
type closing struct {
	frames []client.Frame
	err    error
}

// readToEnd reads conn until it ends, at most 20 s.
func readToEnd(t *testing.T, conn *client.Conn) closing {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var c closing
	for {
		f, err := conn.Next(ctx)
		if err != nil {
			require.NoError(t, ctx.Err(), "the socket was not closed in time")
			c.err = err
			return c
		}
		c.frames = append(c.frames, f)
	}
}

// floodTyping opens a socket of from on base and sends 5,000 typing frames
// to receiver in one burst, and checks that the server closes it with 1008,
// after warning it with rate_limited if at all.
func floodTyping(t *testing.T, base string, from *user, receiver domain.UserID) {
	t.Helper()
	ctx := context.Background()
	flooder, err := client.New(base, nil).WithToken(from.Token()).Dial(ctx)
	require.NoError(t, err)
	t.Cleanup(func() { _ = flooder.CloseNow() })
	go func() {
		for range 5000 {
			if flooder.Send(ctx, domain.EventTyping, map[string]any{"receiverId": receiver, "isTyping": true}) != nil {
				return // closed by the server
			}
		}
	}()
	end := readToEnd(t, flooder)
	assert.Equal(t, websocket.StatusPolicyViolation, websocket.CloseStatus(end.err), "closed for the flood: %v", end.err)
	require.NotEmpty(t, end.frames)
	assert.Equal(t, domain.EventRegistered, end.frames[0].Event)
	for _, f := range end.frames[1:] {
		switch f.Event {
		case domain.EventFriendRequestAccepted, domain.EventNewFriendRequest, domain.EventPresence:
			continue // what came while the flooder had no socket, and its friends' presence
		}
		require.Equal(t, domain.EventError, f.Event)
		var p domain.ErrorPayload
		require.NoError(t, f.Decode(&p))
		assert.Equal(t, "rate_limited", p.Code)
	}
}

// countBeforeMessage counts the frames named event that reach u before its
// next newMessage; it fails when the socket closes first.
func (u *user) countBeforeMessage(t *testing.T, event string) int {
	t.Helper()
	n := 0
	timeout := time.After(15 * time.Second)
	for {
		select {
		case f, ok := <-u.frames:
			require.True(t, ok, "%s: the socket was closed", u.email)
			switch f.Event {
			case event:
				n++
			case domain.EventNewMessage:
				return n
			}
		case <-timeout:
			t.Fatalf("%s: no message within 15s", u.email)
		}
	}
}

// TestEmbeddedServerTypingFloodKeepsTheReceiverOnline sends the report's
// 5,000 typing frames in one burst from alice to bob: alice's socket is
// warned and closed with 1008, bob sees one indicator and stays online.
func TestEmbeddedServerTypingFloodKeepsTheReceiverOnline(t *testing.T) {
	ctx := context.Background()
	base := startServer(t, nil)
	alice, bob := register(t, base, "Alice"), register(t, base, "Bob")
	bob.connect(t, base)
	befriend(t, alice, bob)

	floodTyping(t, base, alice, bob.id)

	// Bob is still online: a message reaches his socket, and of the flood
	// he saw one typing indicator.
	_, err := alice.Send(ctx, client.SendRequest{ReceiverID: bob.id, Message: "still there?"})
	require.NoError(t, err)
	assert.Equal(t, 1, bob.countBeforeMessage(t, domain.EventTypingIndicator), "the flood reached bob as one indicator")
}

// TestEmbeddedServerCapsSocketsPerUser opens one socket more than the cap
// (set low here): the oldest is closed with 4009, the newest works.
func TestEmbeddedServerCapsSocketsPerUser(t *testing.T) {
	ctx := context.Background()
	base := startServer(t, map[string]string{"MESSENGER_WS_SOCKETS_PER_USER": "2"})
	alice, bob := register(t, base, "Alice"), register(t, base, "Bob")
	befriend(t, alice, bob)
	// Each socket is registered (its first frame read) before the next
	// opens, so that their order is the server's too.
	var socks []*client.Conn
	for range 2 {
		conn, err := client.New(base, nil).WithToken(bob.Token()).Dial(ctx)
		require.NoError(t, err)
		t.Cleanup(func() { _ = conn.CloseNow() })
		f, err := conn.Next(ctx)
		require.NoError(t, err)
		require.Equal(t, domain.EventRegistered, f.Event)
		socks = append(socks, conn)
	}
	oldest := socks[0]
	bob.connect(t, base) // the third

	end := readToEnd(t, oldest)
	assert.Equal(t, websocket.StatusCode(4009), websocket.CloseStatus(end.err), "got %v", end.err)
	_, err := alice.Send(ctx, client.SendRequest{ReceiverID: bob.id, Message: "to the newest socket"})
	require.NoError(t, err)
	assert.Equal(t, "to the newest socket", bob.messages(t, 1)[0].Text)
}

// TestEmbeddedServerRefusesMessageShapes sends what made a conversation
// unreadable (metadata nested 2,040 arrays deep) and what passed for the
// server's word (messageType system): both are refused, and history holds
// neither.
func TestEmbeddedServerRefusesMessageShapes(t *testing.T) {
	ctx := context.Background()
	base := startServer(t, nil)
	alice, bob := register(t, base, "Alice"), register(t, base, "Bob")
	befriend(t, alice, bob)
	to := `{"receiverId":"` + string(bob.id) + `","message":"x"`
	for name, body := range map[string]string{
		"metadata 2,040 arrays deep":  to + `,"metadata":{"a":` + strings.Repeat("[", 2040) + strings.Repeat("]", 2040) + `}}`,
		"metadata 33 objects deep":    to + `,"metadata":` + strings.Repeat(`{"a":`, 33) + "1" + strings.Repeat("}", 33) + `}`,
		"messageType system":          to + `,"messageType":"system"}`,
		"messageType system, spelled": to + `,"messageType":"sys\u0074em"}`,
	} {
		t.Run(name, func(t *testing.T) {
			apiError(t, alice.DoRaw(ctx, "POST", "/messages/send", strings.NewReader(body), nil), 400, "invalid")
		})
	}
	deepest := to + `,"metadata":` + strings.Repeat(`{"a":`, domain.MaxMetadataDepth) + "1" + strings.Repeat("}", domain.MaxMetadataDepth) + `}`
	require.NoError(t, alice.DoRaw(ctx, "POST", "/messages/send", strings.NewReader(deepest), nil), "the limit itself is fine")

	conv, _ := domain.NewConversationID(alice.id, bob.id)
	require.Eventually(t, func() bool {
		h, _, err := bob.History(ctx, string(conv), domain.Page{})
		return err == nil && len(h) == 1 && h[0].Type == domain.MessageText
	}, 10*time.Second, 20*time.Millisecond, "only the message within the limits is stored")
}
