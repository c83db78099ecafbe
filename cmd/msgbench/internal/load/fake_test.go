package load_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/coder/websocket"

	"github.com/messenger-go/messenger/domain"
)

// fakeServer speaks just enough of the wire contract for the generator, and
// misbehaves on cue: misdeliver decides, per conversation sequence, what the
// receiver gets.
type fakeServer struct {
	t   *testing.T
	srv *httptest.Server

	mu      sync.Mutex
	users   map[string]string // token -> user id
	sockets map[string]*websocket.Conn
	seqs    map[domain.ConversationID]int64
	held    map[domain.ConversationID][]byte // a frame kept back to send late
	// misdeliver returns what the receiver of sequence seq gets: "drop",
	// "dup", "late" (after the next one), or "" for a normal delivery.
	misdeliver func(seq int64) string
	pprof      bool // serve /debug/pprof/profile
}

func newFakeServer(t *testing.T, misdeliver func(seq int64) string) *fakeServer {
	t.Helper()
	f := &fakeServer{
		t: t, users: map[string]string{}, sockets: map[string]*websocket.Conn{},
		seqs: map[domain.ConversationID]int64{}, held: map[domain.ConversationID][]byte{},
		misdeliver: misdeliver,
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /auth/register", f.register)
	mux.HandleFunc("POST /friends/send-request", f.friend)
	mux.HandleFunc("POST /friends/accept-request", f.friend)
	mux.HandleFunc("POST /messages/send", f.send)
	mux.HandleFunc("GET /ws", f.ws)
	mux.HandleFunc("GET /debug/pprof/profile", func(w http.ResponseWriter, r *http.Request) {
		if !f.pprof {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write([]byte("profile of " + r.URL.Query().Get("seconds") + "s"))
	})
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, _ *http.Request) {
		f.mu.Lock()
		n := len(f.sockets)
		f.mu.Unlock()
		_, _ = w.Write([]byte("messenger_open_sockets " + itoa(int64(n)) + "\n"))
	})
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.close)
	return f
}

func (f *fakeServer) close() {
	f.mu.Lock()
	for _, c := range f.sockets {
		_ = c.CloseNow()
	}
	f.mu.Unlock()
	f.srv.Close()
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func (f *fakeServer) register(w http.ResponseWriter, r *http.Request) {
	id := domain.NewUUID()
	tok := "tok-" + id
	f.mu.Lock()
	f.users[tok] = id
	f.mu.Unlock()
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(map[string]any{"user": map[string]any{"id": id}, "accessToken": tok})
}

func (f *fakeServer) friend(w http.ResponseWriter, _ *http.Request) {
	w.WriteHeader(http.StatusCreated)
	_, _ = w.Write([]byte(`{"friendship":{}}`))
}

func (f *fakeServer) user(r *http.Request) (string, bool) {
	tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	f.mu.Lock()
	defer f.mu.Unlock()
	id, ok := f.users[tok]
	return id, ok
}

func (f *fakeServer) ws(w http.ResponseWriter, r *http.Request) {
	id, ok := f.user(r)
	if !ok {
		http.Error(w, `{"error":{"code":"unauthenticated"}}`, http.StatusUnauthorized)
		return
	}
	c, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	// As the real server does: the socket receives events from the moment
	// its registered frame is sent (under f.mu, so no event overtakes it).
	f.mu.Lock()
	f.sockets[id] = c
	_ = c.Write(r.Context(), websocket.MessageText, []byte(`{"event":"registered","data":{"userId":"`+id+`"}}`))
	f.mu.Unlock()
	for {
		if _, _, err := c.Read(context.Background()); err != nil {
			return
		}
	}
}

func (f *fakeServer) send(w http.ResponseWriter, r *http.Request) {
	from, ok := f.user(r)
	if !ok {
		http.Error(w, `{"error":{"code":"unauthenticated"}}`, http.StatusUnauthorized)
		return
	}
	var req struct {
		ReceiverID      string `json:"receiverId"`
		ClientMessageID string `json:"clientMessageId"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, `{"error":{"code":"invalid"}}`, http.StatusBadRequest)
		return
	}
	conv, err := domain.NewConversationID(domain.UserID(from), domain.UserID(req.ReceiverID))
	if err != nil {
		http.Error(w, `{"error":{"code":"invalid"}}`, http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	f.seqs[conv]++
	seq := f.seqs[conv]
	frame, _ := json.Marshal(map[string]any{"event": "newMessage", "data": map[string]any{
		"clientMessageId": req.ClientMessageID, "conversationId": conv, "sequenceId": seq,
		"senderId": from, "receiverId": req.ReceiverID,
	}})
	ctx := context.Background()
	write := func(user string, b []byte) {
		if c := f.sockets[user]; c != nil {
			_ = c.Write(ctx, websocket.MessageText, b)
		}
	}
	write(from, frame)
	held := f.held[conv]
	delete(f.held, conv)
	switch f.misdeliver(seq) {
	case "drop":
	case "dup":
		write(req.ReceiverID, frame)
		write(req.ReceiverID, frame)
	case "late":
		f.held[conv] = frame
	default:
		write(req.ReceiverID, frame)
	}
	if held != nil {
		// The receiver of the late frame is the other member of conv.
		var m struct {
			Data struct{ ReceiverID string } `json:"data"`
		}
		_ = json.Unmarshal(held, &m)
		write(m.Data.ReceiverID, held)
	}
	f.mu.Unlock()
	w.WriteHeader(http.StatusAccepted)
	_, _ = w.Write([]byte(`{"status":"queued"}`))
}
