package server_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/client"
	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/internal/server"
)

// testKeyFile is the repository's test-only signing key.
func testKeyFile(t testing.TB) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "testdata", "jwt-test-key.pem")
}

// startServer runs the server's Serve on 127.0.0.1:0 with env on top of fast
// password hashing and the test key, and returns its base URL. The server is
// stopped, and must stop cleanly, when the test ends.
func startServer(t testing.TB, env map[string]string) string {
	t.Helper()
	return baseURL(startListening(t, env))
}

// baseURL is the public listener's URL.
func baseURL(l listening) string {
	if l.TLS {
		return "https://" + l.Addr
	}
	return "http://" + l.Addr
}

type listening = server.Listening

// startListening is startServer returning every address the server listens
// on; its metrics listener is on 127.0.0.1:0 unless env says otherwise.
func startListening(t testing.TB, env map[string]string) listening {
	t.Helper()
	vars := map[string]string{
		"MESSENGER_ADDR":                      "127.0.0.1:0",
		"MESSENGER_METRICS_ADDR":              "127.0.0.1:0",
		"MESSENGER_LOG_FORMAT":                "text",
		"MESSENGER_LOG_LEVEL":                 "warn",
		"MESSENGER_PASSWORD_MEMORY_KIB":       "64",
		"MESSENGER_PASSWORD_ITERATIONS":       "1",
		"MESSENGER_REGISTRATIONS_PER_ADDRESS": "100000",
		"MESSENGER_JWT_PRIVATE_KEY_FILE":      testKeyFile(t),
		"MESSENGER_SHUTDOWN_TIMEOUT":          "10s",
	}
	for k, v := range env {
		vars[k] = v
	}
	ctx, cancel := context.WithCancel(context.Background())
	at := make(chan listening, 1)
	done := make(chan error, 1)
	logs := &syncWriter{w: io.Discard}
	if testing.Verbose() {
		logs.w = os.Stderr
	}
	go func() {
		done <- server.Serve(ctx, func(k string) string { return vars[k] }, logs, func(l listening) { at <- l })
	}()
	var l listening
	select {
	case l = <-at:
	case err := <-done:
		cancel()
		t.Fatalf("server did not start: %v", err)
	case <-time.After(60 * time.Second):
		cancel()
		t.Fatal("server did not start within 60s")
	}
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("server stopped with error: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("server did not stop within 30s")
		}
	})
	return l
}

type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// user is a registered user with a client and an open socket.
type user struct {
	*client.Client
	session client.Session
	id      domain.UserID
	email   string
	conn    *client.Conn
	frames  chan client.Frame
}

var userSeq struct {
	sync.Mutex
	n int
}

// register creates a user on base with a unique email.
func register(t *testing.T, base, first string) *user {
	t.Helper()
	userSeq.Lock()
	userSeq.n++
	n := userSeq.n
	userSeq.Unlock()
	email := fmt.Sprintf("%s.%d.%d@example.com", strings.ToLower(first), n, time.Now().UnixNano())
	c, s, err := client.New(base, nil).Register(context.Background(), first, "Tester", email, "correct horse battery")
	require.NoError(t, err)
	require.Equal(t, email, s.User.Email)
	return &user{Client: c, session: s, id: s.User.ID, email: email}
}

// connect opens u's socket (on u's server or another) and starts reading it
// into u.frames; it waits for `registered`.
func (u *user) connect(t *testing.T, base string) {
	t.Helper()
	conn, err := client.New(base, nil).WithToken(u.Token()).Dial(context.Background())
	require.NoError(t, err)
	u.read(t, conn)
}

// reconnect is connect for a client that resumes from cursors: what it
// missed comes before anything live.
func (u *user) reconnect(t *testing.T, base string, cursors map[domain.ConversationID]domain.Sequence) {
	t.Helper()
	conn, err := client.New(base, nil).WithToken(u.Token()).DialResume(context.Background(), cursors)
	require.NoError(t, err)
	u.read(t, conn)
}

func (u *user) read(t *testing.T, conn *client.Conn) {
	t.Helper()
	u.conn = conn
	frames := make(chan client.Frame, 1024)
	u.frames = frames
	go func() {
		defer close(frames)
		for {
			f, err := conn.Next(context.Background())
			if err != nil {
				return
			}
			frames <- f
		}
	}()
	f := u.expect(t, domain.EventRegistered)
	var reg domain.RegisteredPayload
	require.NoError(t, f.Decode(&reg))
	require.Equal(t, u.id, reg.UserID)
	t.Cleanup(func() { _ = conn.CloseNow() })
}

// disconnect closes u's socket.
func (u *user) disconnect(t *testing.T) {
	t.Helper()
	require.NoError(t, u.conn.Close())
	for range u.frames {
	}
}

// expect waits for the next frame named event, skipping others.
func (u *user) expect(t *testing.T, event string) client.Frame {
	t.Helper()
	timeout := time.After(15 * time.Second)
	for {
		select {
		case f, ok := <-u.frames:
			if !ok {
				t.Fatalf("%s: socket closed while waiting for %s", u.email, event)
			}
			if f.Event == event {
				return f
			}
		case <-timeout:
			t.Fatalf("%s: no %s within 15s", u.email, event)
		}
	}
}

// messages waits for n newMessage frames and returns them in arrival order.
func (u *user) messages(t *testing.T, n int) []domain.Message {
	t.Helper()
	out := make([]domain.Message, 0, n)
	for len(out) < n {
		var m domain.Message
		require.NoError(t, u.expect(t, domain.EventNewMessage).Decode(&m))
		out = append(out, m)
	}
	return out
}

// befriend makes a and b friends through the API, checking the friend events.
func befriend(t *testing.T, a, b *user) {
	t.Helper()
	ctx := context.Background()
	f, err := a.SendFriendRequest(ctx, b.id)
	require.NoError(t, err)
	require.Equal(t, domain.FriendPending, f.Status)
	if b.frames != nil {
		var p domain.UserPayload
		require.NoError(t, b.expect(t, domain.EventNewFriendRequest).Decode(&p))
		require.Equal(t, a.id, p.User.ID)
	}
	f, err = b.AcceptFriendRequest(ctx, a.id)
	require.NoError(t, err)
	require.Equal(t, domain.FriendAccepted, f.Status)
	if a.frames != nil {
		var p domain.UserPayload
		require.NoError(t, a.expect(t, domain.EventFriendRequestAccepted).Decode(&p))
		require.Equal(t, b.id, p.User.ID)
	}
}

// apiError asserts that err is a client.Error with status and code.
func apiError(t *testing.T, err error, status int, code string) {
	t.Helper()
	var e *client.Error
	require.True(t, errors.As(err, &e), "want HTTP %d, got %v", status, err)
	require.Equal(t, status, e.Status, "message: %s", e.Message)
	require.Equal(t, code, e.Code)
	require.NotEmpty(t, e.Message)
}

func sequences(ms []domain.Message) []domain.Sequence {
	out := make([]domain.Sequence, len(ms))
	for i, m := range ms {
		out[i] = m.Sequence
	}
	return out
}
