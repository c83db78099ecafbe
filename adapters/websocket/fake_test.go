package websocket_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/require"

	ws "github.com/messenger-go/messenger/adapters/websocket"
	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
	"github.com/messenger-go/messenger/realtime"
)

// fakeService serves what the WebSocket adapter calls: Authenticate, the
// realtime calls (recorded, failing on cue) and History over an in-memory
// conversation store that tests append to while sockets read it.
type fakeService struct {
	ports.Service // the methods the adapter never calls are left nil

	mu      sync.Mutex
	tokens  map[string]domain.UserID
	expires map[string]time.Time // zero: the token never expires
	convs   map[domain.ConversationID][]domain.Message
	typings []typingCall
	acks    []ackCall
	joins   []joinCall
	history int              // History calls served
	now     func() time.Time // reads token expiries; time.Now when nil

	// Fail on cue: when set, called before the fake's own behaviour; a
	// non-nil error is returned as the call's result.
	onTyping   func(typingCall) error
	onJoinChat func(joinCall) error
	onAck      func(ackCall) error
	onHistory  func(call int, conv domain.ConversationID, page domain.Page) error
	onSend     func(domain.Draft) error
}

type typingCall struct {
	Sender, Receiver domain.UserID
	IsTyping         bool
}

type ackCall struct {
	Caller domain.UserID
	Conv   domain.ConversationID
	UpTo   domain.Sequence
}

type joinCall struct {
	Caller domain.UserID
	Conv   domain.ConversationID
}

func newFakeService() *fakeService {
	return &fakeService{
		tokens:  make(map[string]domain.UserID),
		expires: make(map[string]time.Time),
		convs:   make(map[domain.ConversationID][]domain.Message),
	}
}

// token returns a valid access token of u.
func (f *fakeService) token(u domain.UserID) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	tok := "tok-" + string(u)
	f.tokens[tok] = u
	return tok
}

// expiringToken returns an access token of u accepted until expires.
func (f *fakeService) expiringToken(u domain.UserID, expires time.Time) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	tok := "exp-" + string(u) + "-" + expires.Format(time.RFC3339Nano)
	f.tokens[tok], f.expires[tok] = u, expires
	return tok
}

func (f *fakeService) Authenticate(_ context.Context, token string) (domain.UserID, time.Time, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	u, ok := f.tokens[token]
	exp := f.expires[token]
	now := time.Now
	if f.now != nil {
		now = f.now
	}
	if !ok || (!exp.IsZero() && !now().Before(exp)) {
		return "", time.Time{}, domain.Errorf(domain.KindUnauthenticated, "invalid access token")
	}
	return u, exp, nil
}

func (f *fakeService) Typing(_ context.Context, sender, receiver domain.UserID, isTyping bool) error {
	c := typingCall{sender, receiver, isTyping}
	if f.onTyping != nil {
		if err := f.onTyping(c); err != nil {
			return err
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.typings = append(f.typings, c)
	return nil
}

func (f *fakeService) JoinChat(_ context.Context, caller domain.UserID, conv domain.ConversationID) error {
	c := joinCall{caller, conv}
	if f.onJoinChat != nil {
		if err := f.onJoinChat(c); err != nil {
			return err
		}
	}
	if !conv.Has(caller) {
		return domain.Errorf(domain.KindForbidden, "not a participant of this conversation")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.joins = append(f.joins, c)
	return nil
}

func (f *fakeService) Ack(_ context.Context, caller domain.UserID, conv domain.ConversationID, upTo domain.Sequence) (domain.Watermark, error) {
	c := ackCall{caller, conv, upTo}
	if f.onAck != nil {
		if err := f.onAck(c); err != nil {
			return domain.Watermark{}, err
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.acks = append(f.acks, c)
	return domain.Watermark{ConversationID: conv, UpTo: upTo}, nil
}

// SendMessage validates d as the use case does and answers its receipt.
func (f *fakeService) SendMessage(_ context.Context, d domain.Draft) (ports.SendReceipt, error) {
	m, err := domain.NewMessage(d, time.Now())
	if err != nil {
		return ports.SendReceipt{}, err
	}
	if f.onSend != nil {
		if err := f.onSend(d); err != nil {
			return ports.SendReceipt{}, err
		}
	}
	return ports.SendReceipt{MessageID: m.ID, ClientMessageID: m.ClientMessageID, ConversationID: m.ConversationID, Status: "queued"}, nil
}

func (f *fakeService) History(_ context.Context, caller domain.UserID, conv domain.ConversationID, page domain.Page) ([]domain.Message, bool, error) {
	if !conv.Has(caller) {
		return nil, false, domain.Errorf(domain.KindForbidden, "not a participant of this conversation")
	}
	page, err := page.Normalize()
	if err != nil {
		return nil, false, err
	}
	if page.Before != 0 {
		return nil, false, errors.New("fake History serves no Before pages")
	}
	f.mu.Lock()
	f.history++
	call := f.history
	f.mu.Unlock()
	if f.onHistory != nil {
		if err := f.onHistory(call, conv, page); err != nil {
			return nil, false, err
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if !page.HasAfter { // the newest page
		msgs := f.convs[conv]
		from := max(0, len(msgs)-page.Limit)
		return append([]domain.Message(nil), msgs[from:]...), from > 0, nil
	}
	var out []domain.Message
	for _, m := range f.convs[conv] { // stored in sequence order
		if m.Sequence <= page.After {
			continue
		}
		if len(out) == page.Limit {
			return out, true, nil
		}
		out = append(out, m)
	}
	return out, false, nil
}

// appendMessage stores the next message of the conversation of sender and
// receiver (two different users) and returns it with its sequence. Safe to
// call from any goroutine while sockets read history.
func (f *fakeService) appendMessage(sender, receiver domain.UserID) domain.Message {
	f.mu.Lock()
	defer f.mu.Unlock()
	conv, err := domain.NewConversationID(sender, receiver)
	if err != nil {
		panic(err)
	}
	seq := domain.Sequence(len(f.convs[conv]) + 1)
	cid := fmt.Sprintf("c-%d", seq)
	m := domain.Message{
		ID:              domain.DeriveMessageID(sender, cid),
		ClientMessageID: cid,
		ConversationID:  conv,
		Sequence:        seq,
		SenderID:        sender,
		ReceiverID:      receiver,
		Text:            fmt.Sprintf("message %d", seq),
		Type:            domain.MessageText,
		SentAt:          time.Now().UTC(),
	}
	f.convs[conv] = append(f.convs[conv], m)
	return m
}

func (f *fakeService) calls() ([]typingCall, []joinCall, []ackCall) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]typingCall(nil), f.typings...), append([]joinCall(nil), f.joins...), append([]ackCall(nil), f.acks...)
}

// fakePresence records presence calls; err, when set, fails them all.
type fakePresence struct {
	mu     sync.Mutex
	err    error
	delay  time.Duration // how long Register takes
	online map[domain.UserID]bool
	regs   map[domain.UserID]int
	unregs map[domain.UserID]int
	node   ports.NodeID
}

func newFakePresence() *fakePresence {
	return &fakePresence{online: map[domain.UserID]bool{}, regs: map[domain.UserID]int{}, unregs: map[domain.UserID]int{}}
}

func (p *fakePresence) Register(_ context.Context, u domain.UserID, node ports.NodeID) error {
	time.Sleep(p.delay)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.regs[u]++
	p.node = node
	if p.err != nil {
		return p.err
	}
	p.online[u] = true
	return nil
}

func (p *fakePresence) Unregister(_ context.Context, u domain.UserID, node ports.NodeID) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.unregs[u]++
	if p.err != nil {
		return p.err
	}
	delete(p.online, u)
	return nil
}

func (p *fakePresence) Nodes(context.Context, domain.UserID) ([]ports.NodeID, error) {
	return nil, errors.New("not used")
}

// state returns whether u is recorded online and the register and unregister counts.
func (p *fakePresence) state(u domain.UserID) (bool, int, int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.online[u], p.regs[u], p.unregs[u]
}

// env is a Hub and Handler behind an httptest server, on a fake service.
type env struct {
	hub     *realtime.Hub
	handler *ws.Handler
	svc     *fakeService
	srv     *httptest.Server
	url     string
}

// newEnv starts a server; configure adjusts the configs before construction.
func newEnv(t testing.TB, configure func(*realtime.HubConfig, *ws.HandlerConfig)) *env {
	t.Helper()
	svc := newFakeService()
	hubCfg := realtime.HubConfig{Node: "node-1"}
	hCfg := ws.HandlerConfig{Service: svc}
	if configure != nil {
		configure(&hubCfg, &hCfg)
	}
	hub, err := realtime.NewHub(hubCfg)
	require.NoError(t, err)
	hCfg.Hub = hub
	handler, err := ws.NewHandler(hCfg)
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("GET /ws", handler)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := hub.Shutdown(ctx); err != nil {
			t.Errorf("hub shutdown: %v", err)
		}
	})
	return &env{hub: hub, handler: handler, svc: svc, srv: srv, url: "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws"}
}

// client is a test's end of one socket.
type client struct {
	conn *websocket.Conn
}

// dial connects as u with a header token and reads the registered event.
func (e *env) dial(t testing.TB, u domain.UserID) *client {
	t.Helper()
	return e.dialQuery(t, u, "")
}

// dialResuming connects as u announcing a resume (resume=1) and reads the
// registered event.
func (e *env) dialResuming(t testing.TB, u domain.UserID) *client {
	t.Helper()
	return e.dialQuery(t, u, "?resume=1")
}

func (e *env) dialQuery(t testing.TB, u domain.UserID, query string) *client {
	t.Helper()
	c, _, err := e.dialWith(t, e.url+query, http.Header{"Authorization": {"Bearer " + e.svc.token(u)}})
	require.NoError(t, err)
	name, data := c.read(t)
	require.Equal(t, domain.EventRegistered, name)
	var p domain.RegisteredPayload
	require.NoError(t, json.Unmarshal(data, &p))
	require.Equal(t, u, p.UserID)
	return c
}

// dialWith dials url with header; the response is returned when the server refused.
func (e *env) dialWith(t testing.TB, url string, header http.Header) (*client, *http.Response, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: header})
	if err != nil {
		return nil, resp, err
	}
	conn.SetReadLimit(1 << 20)
	t.Cleanup(func() { _ = conn.CloseNow() })
	return &client{conn: conn}, resp, nil
}

// read returns the next frame's event name and data, failing after a timeout.
func (c *client) read(t testing.TB) (string, json.RawMessage) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, data, err := c.conn.Read(ctx)
	require.NoError(t, err)
	var f struct {
		Event string          `json:"event"`
		Data  json.RawMessage `json:"data"`
	}
	require.NoError(t, json.Unmarshal(data, &f), "frame %s", data)
	return f.Event, f.Data
}

// readEvent reads the next frame, checks its name and decodes its data into v.
func (c *client) readEvent(t testing.TB, name string, v any) {
	t.Helper()
	got, data := c.read(t)
	require.Equal(t, name, got, "data %s", data)
	if v != nil {
		require.NoError(t, json.Unmarshal(data, v))
	}
}

// readMessage reads the next frame, which must be a newMessage.
func (c *client) readMessage(t testing.TB) domain.Message {
	t.Helper()
	var m domain.Message
	c.readEvent(t, domain.EventNewMessage, &m)
	return m
}

// send writes {"event": event, "data": data}.
func (c *client) send(t testing.TB, event string, data any) {
	t.Helper()
	b, err := json.Marshal(map[string]any{"event": event, "data": data})
	require.NoError(t, err)
	c.sendRaw(t, b)
}

func (c *client) sendRaw(t testing.TB, b []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, c.conn.Write(ctx, websocket.MessageText, b))
}

// readUntilClosed reads and discards frames until the connection ends and
// returns the close error (a websocket.CloseError when the server closed with
// a status).
func (c *client) readUntilClosed(t testing.TB, timeout time.Duration) (int, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	frames := 0
	for {
		_, _, err := c.conn.Read(ctx)
		if err != nil {
			require.NoError(t, ctx.Err(), "connection not closed in time")
			return frames, err
		}
		frames++
	}
}

// requireCloseStatus checks that err is a close with code and reason.
func requireCloseStatus(t testing.TB, err error, code websocket.StatusCode, reason string) {
	t.Helper()
	var ce websocket.CloseError
	require.ErrorAs(t, err, &ce, "got %v", err)
	require.Equal(t, code, ce.Code)
	require.Equal(t, reason, ce.Reason)
}

// waitFor polls cond until it holds, failing after a timeout.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// pair returns two fresh users and their conversation.
func pair(t testing.TB) (domain.UserID, domain.UserID, domain.ConversationID) {
	t.Helper()
	a, b := domain.NewUserID(), domain.NewUserID()
	conv, err := domain.NewConversationID(a, b)
	require.NoError(t, err)
	return a, b, conv
}

// fakeBatchPresence is a fakePresence that also takes heartbeats in batches;
// beforeBatch, when set, runs before a batch is recorded.
type fakeBatchPresence struct {
	*fakePresence
	batches     int
	beforeBatch func(users []domain.UserID)
}

func (p *fakeBatchPresence) RegisterBatch(_ context.Context, users []domain.UserID, node ports.NodeID) error {
	if p.beforeBatch != nil {
		p.beforeBatch(users)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.batches++
	for _, u := range users {
		p.regs[u]++
		p.online[u] = true
	}
	p.node = node
	return p.err
}

func (p *fakeBatchPresence) batchCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.batches
}
