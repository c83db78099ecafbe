package client_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/client"
	"github.com/messenger-go/messenger/domain"
)

// seen is what the fake server saw of one connection: its resume query
// parameter and its first frame, if one came before the client closed.
type seen struct {
	resume string
	first  string
}

// fakeServer accepts sockets on /ws and reports what each one sent.
func fakeServer(t *testing.T) (string, <-chan seen) {
	t.Helper()
	got := make(chan seen, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, "/ws", r.URL.Path)
		assert.Equal(t, "Bearer tok", r.Header.Get("Authorization"))
		conn, err := websocket.Accept(w, r, nil)
		if !assert.NoError(t, err) {
			return
		}
		defer conn.CloseNow()
		s := seen{resume: r.URL.Query().Get("resume")}
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		defer cancel()
		if _, data, err := conn.Read(ctx); err == nil {
			s.first = string(data)
		}
		got <- s
	}))
	t.Cleanup(srv.Close)
	return srv.URL, got
}

func TestDialResumeAnnouncesAndSendsTheResume(t *testing.T) {
	base, got := fakeServer(t)
	conv, err := domain.NewConversationID(domain.NewUserID(), domain.NewUserID())
	require.NoError(t, err)
	conn, err := client.New(base, nil).WithToken("tok").DialResume(t.Context(), map[domain.ConversationID]domain.Sequence{conv: 7})
	require.NoError(t, err)
	defer conn.CloseNow()

	s := <-got
	assert.Equal(t, "1", s.resume)
	var frame struct {
		Event string `json:"event"`
		Data  struct {
			Conversations map[domain.ConversationID]domain.Sequence `json:"conversations"`
		} `json:"data"`
	}
	require.NoError(t, json.Unmarshal([]byte(s.first), &frame), s.first)
	assert.Equal(t, domain.EventResume, frame.Event)
	assert.Equal(t, map[domain.ConversationID]domain.Sequence{conv: 7}, frame.Data.Conversations)
}

func TestDialResumeWithoutCursorsSendsAnEmptyResume(t *testing.T) {
	base, got := fakeServer(t)
	conn, err := client.New(base, nil).WithToken("tok").DialResume(t.Context(), nil)
	require.NoError(t, err)
	defer conn.CloseNow()
	s := <-got
	assert.Equal(t, "1", s.resume)
	assert.JSONEq(t, `{"event":"resume","data":{"conversations":{}}}`, s.first)
}

func TestDialAnnouncesNothing(t *testing.T) {
	base, got := fakeServer(t)
	conn, err := client.New(base, nil).WithToken("tok").Dial(t.Context())
	require.NoError(t, err)
	require.NoError(t, conn.Close())
	s := <-got
	assert.Empty(t, s.resume)
	assert.Empty(t, s.first, "no frame before the client's own")
}
