package http_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	api "github.com/messenger-go/messenger/adapters/http"
	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
)

// Fixed identities of the tests.
const (
	alice     domain.UserID         = "11111111-1111-4111-8111-111111111111"
	bob       domain.UserID         = "22222222-2222-4222-8222-222222222222"
	aliceBob  domain.ConversationID = "11111111-1111-4111-8111-111111111111_22222222-2222-4222-8222-222222222222"
	goodToken                       = "alice-token"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

var (
	aliceUser = domain.User{ID: alice, FirstName: "Alice", LastName: "Liddell", Email: "alice@example.com", PasswordHash: "secret-hash"}
	bobUser   = domain.User{ID: bob, FirstName: "Bob", LastName: "Builder", Email: "bob@example.com", PasswordHash: "secret-hash"}
)

const (
	aliceJSON = `{"id":"11111111-1111-4111-8111-111111111111","firstName":"Alice","lastName":"Liddell","email":"alice@example.com"}`
	bobJSON   = `{"id":"22222222-2222-4222-8222-222222222222","firstName":"Bob","lastName":"Builder","email":"bob@example.com"}`
)

// fakeService implements ports.Service with one function field per method.
// A nil field answers an internal error, so an unexpected call shows as 500.
// Authenticate accepts goodToken as alice unless authenticate is set.
type fakeService struct {
	lifecycleFake // the wire contract's second part
	attachmentFake
	deviceFake // push devices

	mu    sync.Mutex
	calls map[string]int

	authenticate        func(ctx context.Context, token string) (domain.UserID, error)
	register            func(ctx context.Context, r domain.Registration, from netip.Addr) (ports.Session, error)
	login               func(ctx context.Context, email, password string, from netip.Addr) (ports.Session, error)
	refresh             func(ctx context.Context, token string) (ports.Tokens, error)
	logout              func(ctx context.Context, token string) error
	sendFriendRequest   func(ctx context.Context, from, to domain.UserID) (domain.Friendship, error)
	acceptFriendRequest func(ctx context.Context, by, requester domain.UserID) (domain.Friendship, error)
	block               func(ctx context.Context, by, other domain.UserID) (domain.Friendship, error)
	unblock             func(ctx context.Context, by, other domain.UserID) error
	pendingRequests     func(ctx context.Context, user domain.UserID) ([]domain.FriendRequest, error)
	friends             func(ctx context.Context, user domain.UserID) ([]domain.User, error)
	searchUsers         func(ctx context.Context, caller domain.UserID, q string) ([]domain.User, error)
	sendMessage         func(ctx context.Context, d domain.Draft) (ports.SendReceipt, error)
	history             func(ctx context.Context, caller domain.UserID, conv domain.ConversationID, p domain.Page) ([]domain.Message, bool, error)
	markRead            func(ctx context.Context, caller domain.UserID, conv domain.ConversationID, upTo domain.Sequence) (domain.Watermark, error)
	unreadCount         func(ctx context.Context, caller domain.UserID) (domain.UnreadCounts, error)
	conversations       func(ctx context.Context, caller domain.UserID) ([]domain.ConversationSummary, error)
}

var _ ports.Service = (*fakeService)(nil)

var errUnexpected = domain.Errorf(domain.KindInternal, "unexpected call")

func (f *fakeService) called(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.calls == nil {
		f.calls = map[string]int{}
	}
	f.calls[name]++
}

func (f *fakeService) count(name string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[name]
}

func (f *fakeService) Authenticate(ctx context.Context, token string) (domain.UserID, time.Time, error) {
	f.called("Authenticate")
	if f.authenticate != nil {
		u, err := f.authenticate(ctx, token)
		return u, time.Time{}, err
	}
	if token == goodToken {
		return alice, time.Now().Add(time.Hour), nil
	}
	return "", time.Time{}, domain.Errorf(domain.KindUnauthenticated, "invalid or expired access token")
}

func (f *fakeService) Register(ctx context.Context, r domain.Registration, from netip.Addr) (ports.Session, error) {
	f.called("Register")
	if f.register == nil {
		return ports.Session{}, errUnexpected
	}
	return f.register(ctx, r, from)
}

func (f *fakeService) Login(ctx context.Context, email, password string, from netip.Addr) (ports.Session, error) {
	f.called("Login")
	if f.login == nil {
		return ports.Session{}, errUnexpected
	}
	return f.login(ctx, email, password, from)
}

func (f *fakeService) Refresh(ctx context.Context, token string) (ports.Tokens, error) {
	f.called("Refresh")
	if f.refresh == nil {
		return ports.Tokens{}, errUnexpected
	}
	return f.refresh(ctx, token)
}

func (f *fakeService) Logout(ctx context.Context, token string) error {
	f.called("Logout")
	if f.logout == nil {
		return errUnexpected
	}
	return f.logout(ctx, token)
}

func (f *fakeService) SendFriendRequest(ctx context.Context, from, to domain.UserID) (domain.Friendship, error) {
	f.called("SendFriendRequest")
	if f.sendFriendRequest == nil {
		return domain.Friendship{}, errUnexpected
	}
	return f.sendFriendRequest(ctx, from, to)
}

func (f *fakeService) AcceptFriendRequest(ctx context.Context, by, requester domain.UserID) (domain.Friendship, error) {
	f.called("AcceptFriendRequest")
	if f.acceptFriendRequest == nil {
		return domain.Friendship{}, errUnexpected
	}
	return f.acceptFriendRequest(ctx, by, requester)
}

func (f *fakeService) Block(ctx context.Context, by, other domain.UserID) (domain.Friendship, error) {
	f.called("Block")
	if f.block == nil {
		return domain.Friendship{}, errUnexpected
	}
	return f.block(ctx, by, other)
}

func (f *fakeService) Unblock(ctx context.Context, by, other domain.UserID) error {
	f.called("Unblock")
	if f.unblock == nil {
		return errUnexpected
	}
	return f.unblock(ctx, by, other)
}

func (f *fakeService) PendingRequests(ctx context.Context, user domain.UserID) ([]domain.FriendRequest, error) {
	f.called("PendingRequests")
	if f.pendingRequests == nil {
		return nil, errUnexpected
	}
	return f.pendingRequests(ctx, user)
}

// Friends serves friendsPresence when set, else friends' users as offline
// and never seen.
func (f *fakeService) Friends(ctx context.Context, user domain.UserID) ([]domain.Friend, error) {
	f.called("Friends")
	if f.friendsPresence != nil {
		return f.friendsPresence(ctx, user)
	}
	if f.friends == nil {
		return nil, errUnexpected
	}
	users, err := f.friends(ctx, user)
	var out []domain.Friend
	for _, u := range users {
		out = append(out, domain.Friend{User: u})
	}
	return out, err
}

func (f *fakeService) SearchUsers(ctx context.Context, caller domain.UserID, q string) ([]domain.User, error) {
	f.called("SearchUsers")
	if f.searchUsers == nil {
		return nil, errUnexpected
	}
	return f.searchUsers(ctx, caller, q)
}

func (f *fakeService) SendMessage(ctx context.Context, d domain.Draft) (ports.SendReceipt, error) {
	f.called("SendMessage")
	if f.sendMessage == nil {
		return ports.SendReceipt{}, errUnexpected
	}
	return f.sendMessage(ctx, d)
}

func (f *fakeService) History(ctx context.Context, caller domain.UserID, conv domain.ConversationID, p domain.Page) ([]domain.Message, bool, error) {
	f.called("History")
	if f.history == nil {
		return nil, false, errUnexpected
	}
	return f.history(ctx, caller, conv, p)
}

func (f *fakeService) MarkRead(ctx context.Context, caller domain.UserID, conv domain.ConversationID, upTo domain.Sequence) (domain.Watermark, error) {
	f.called("MarkRead")
	if f.markRead == nil {
		return domain.Watermark{}, errUnexpected
	}
	return f.markRead(ctx, caller, conv, upTo)
}

func (f *fakeService) UnreadCount(ctx context.Context, caller domain.UserID) (domain.UnreadCounts, error) {
	f.called("UnreadCount")
	if f.unreadCount == nil {
		return domain.UnreadCounts{}, errUnexpected
	}
	return f.unreadCount(ctx, caller)
}

func (f *fakeService) Conversations(ctx context.Context, caller domain.UserID) ([]domain.ConversationSummary, error) {
	f.called("Conversations")
	if f.conversations == nil {
		return nil, errUnexpected
	}
	return f.conversations(ctx, caller)
}

func (f *fakeService) Typing(context.Context, domain.UserID, domain.UserID, bool) error {
	return errUnexpected
}

func (f *fakeService) JoinChat(context.Context, domain.UserID, domain.ConversationID) error {
	return errUnexpected
}

func (f *fakeService) Ack(context.Context, domain.UserID, domain.ConversationID, domain.Sequence) (domain.Watermark, error) {
	return domain.Watermark{}, errUnexpected
}

// syncBuffer is a log sink safe for the handler's concurrent writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// server is a Handler over a fake service, with its log captured.
type server struct {
	svc *fakeService
	h   *api.Handler
	log *syncBuffer
}

func newServer(t *testing.T, mutate ...func(*api.Config)) *server {
	t.Helper()
	s := &server{svc: &fakeService{}, log: &syncBuffer{}}
	cfg := api.Config{
		Service: s.svc,
		Logger:  slog.New(slog.NewTextHandler(s.log, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	for _, m := range mutate {
		m(&cfg)
	}
	h, err := api.NewHandler(cfg)
	require.NoError(t, err)
	s.h = h
	return s
}

// request describes one call; token "" sends no Authorization header, and
// remoteAddr "" leaves httptest's peer address.
type request struct {
	method, path string
	body         string
	token        string
	header       http.Header
	remoteAddr   string
}

func (s *server) do(t *testing.T, req request) *httptest.ResponseRecorder {
	t.Helper()
	var body io.Reader
	if req.body != "" {
		body = strings.NewReader(req.body)
	}
	r := httptest.NewRequest(req.method, req.path, body)
	if req.body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	if req.token != "" {
		r.Header.Set("Authorization", "Bearer "+req.token)
	}
	for k, vs := range req.header {
		r.Header[k] = vs
	}
	if req.remoteAddr != "" {
		r.RemoteAddr = req.remoteAddr
	}
	w := httptest.NewRecorder()
	s.h.ServeHTTP(w, r)
	return w
}

// requireError checks an error answer: status, code and the JSON shape.
func requireError(t *testing.T, w *httptest.ResponseRecorder, status int, code string) string {
	t.Helper()
	require.Equal(t, status, w.Code, "body: %s", w.Body.String())
	assert.Equal(t, "application/json; charset=utf-8", w.Header().Get("Content-Type"))
	var body struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	dec := json.NewDecoder(bytes.NewReader(w.Body.Bytes()))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&body), "error body: %s", w.Body.String())
	assert.Equal(t, code, body.Error.Code)
	assert.NotEmpty(t, body.Error.Message)
	return body.Error.Message
}
