package socketio_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/adapters/socketio"
	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
	"github.com/messenger-go/messenger/realtime"
)

// fakeService serves what the Socket.IO adapter calls: Authenticate, the
// realtime calls (recorded) and an empty History.
type fakeService struct {
	ports.Service // the methods the adapter never calls are left nil

	mu      sync.Mutex
	tokens  map[string]domain.UserID
	expires map[string]time.Time
	typings []domain.UserID // receivers
}

func newFakeService() *fakeService {
	return &fakeService{tokens: map[string]domain.UserID{}, expires: map[string]time.Time{}}
}

// token returns a valid access token of u, accepted until expires (zero:
// always).
func (f *fakeService) token(u domain.UserID, expires time.Time) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	tok := "tok-" + string(u) + expires.Format(time.RFC3339Nano)
	f.tokens[tok], f.expires[tok] = u, expires
	return tok
}

func (f *fakeService) Authenticate(_ context.Context, token string) (domain.UserID, time.Time, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	u, ok := f.tokens[token]
	if !ok {
		return "", time.Time{}, domain.Errorf(domain.KindUnauthenticated, "invalid access token")
	}
	return u, f.expires[token], nil
}

func (f *fakeService) Typing(_ context.Context, _, receiver domain.UserID, _ bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.typings = append(f.typings, receiver)
	return nil
}

func (f *fakeService) JoinChat(_ context.Context, caller domain.UserID, conv domain.ConversationID) error {
	if !conv.Has(caller) {
		return domain.Errorf(domain.KindForbidden, "not a participant of this conversation")
	}
	return nil
}

func (f *fakeService) History(context.Context, domain.UserID, domain.ConversationID, domain.Page) ([]domain.Message, bool, error) {
	return nil, false, nil
}

func (f *fakeService) typingCalls() []domain.UserID {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]domain.UserID(nil), f.typings...)
}

// env is a Hub and a Socket.IO Handler behind an httptest server.
type env struct {
	hub     *realtime.Hub
	handler *socketio.Handler
	svc     *fakeService
	srv     *httptest.Server
}

func newEnv(t testing.TB, configure func(*realtime.HubConfig, *socketio.HandlerConfig)) *env {
	t.Helper()
	svc := newFakeService()
	hubCfg := realtime.HubConfig{Node: "node-1"}
	cfg := socketio.HandlerConfig{Service: svc, Node: "node-1"}
	if configure != nil {
		configure(&hubCfg, &cfg)
	}
	hub, err := realtime.NewHub(hubCfg)
	require.NoError(t, err)
	cfg.Hub = hub
	h, err := socketio.NewHandler(cfg)
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", h)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		h.Drain()
		if err := hub.Shutdown(ctx); err != nil {
			t.Errorf("hub shutdown: %v", err)
		}
	})
	return &env{hub: hub, handler: h, svc: svc, srv: srv}
}

// url is the endpoint with query.
func (e *env) url(query string) string { return e.srv.URL + "/socket.io/?EIO=4&" + query }

// request makes a request and returns the status and body.
func (e *env) request(t testing.TB, method, url, body string, header http.Header) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	require.NoError(t, err)
	for k, v := range header {
		req.Header[k] = v
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := e.srv.Client().Do(req.WithContext(ctx))
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b), resp.Header
}

// openInfo is the data of an open packet.
type openInfo struct {
	SID          string   `json:"sid"`
	Upgrades     []string `json:"upgrades"`
	PingInterval int64    `json:"pingInterval"`
	PingTimeout  int64    `json:"pingTimeout"`
	MaxPayload   int64    `json:"maxPayload"`
}

// poller is a test's long-polling client of one session.
type poller struct {
	e    *env
	open openInfo
}

// handshake opens a long-polling session.
func (e *env) handshake(t testing.TB, query string) *poller {
	t.Helper()
	status, body, _ := e.request(t, "GET", e.url("transport=polling"+query), "", nil)
	require.Equal(t, http.StatusOK, status, body)
	require.True(t, strings.HasPrefix(body, "0{"), body)
	p := &poller{e: e}
	require.NoError(t, json.Unmarshal([]byte(body[1:]), &p.open))
	return p
}

func (p *poller) url() string { return p.e.url("transport=polling&sid=" + p.open.SID) }

// post sends packets in one POST and returns the status.
func (p *poller) post(t testing.TB, packets ...string) int {
	t.Helper()
	status, body, _ := p.e.request(t, "POST", p.url(), strings.Join(packets, "\x1e"), nil)
	if status == http.StatusOK {
		require.Equal(t, "ok", body)
	}
	return status
}

// get waits for the next payload and returns its packets.
func (p *poller) get(t testing.TB) (int, []string) {
	t.Helper()
	status, body, _ := p.e.request(t, "GET", p.url(), "", nil)
	if status != http.StatusOK {
		return status, nil
	}
	return status, strings.Split(body, "\x1e")
}

// next returns the next packet, polling as needed; buffered holds packets
// of a payload not yet returned.
func (p *poller) next(t testing.TB, buffered *[]string) string {
	t.Helper()
	for len(*buffered) == 0 {
		status, packets := p.get(t)
		require.Equal(t, http.StatusOK, status)
		*buffered = packets
	}
	pkt := (*buffered)[0]
	*buffered = (*buffered)[1:]
	return pkt
}

// connect connects the session as u and returns the packets after 40 and
// registered, which it checks.
func (p *poller) connect(t testing.TB, u domain.UserID) []string {
	t.Helper()
	require.Equal(t, http.StatusOK, p.post(t, `40{"token":"`+p.e.svc.token(u, time.Time{})+`"}`))
	var buf []string
	require.True(t, strings.HasPrefix(p.next(t, &buf), `40{"sid":"`))
	requireEvent(t, p.next(t, &buf), domain.EventRegistered, map[string]any{"userId": string(u)})
	return buf
}

// requireEvent checks that pkt is the event name with data.
func requireEvent(t testing.TB, pkt, name string, data any) {
	t.Helper()
	require.True(t, strings.HasPrefix(pkt, "42["), pkt)
	var args []json.RawMessage
	require.NoError(t, json.Unmarshal([]byte(pkt[2:]), &args), pkt)
	require.Len(t, args, 2, pkt)
	var got string
	require.NoError(t, json.Unmarshal(args[0], &got))
	require.Equal(t, name, got, pkt)
	want, err := json.Marshal(data)
	require.NoError(t, err)
	require.JSONEq(t, string(want), string(args[1]), pkt)
}

// wsClient is a test's WebSocket client of one session.
type wsClient struct {
	conn *websocket.Conn
}

// dial opens a WebSocket to the endpoint with query.
func (e *env) dial(t testing.TB, query string, header http.Header) (*wsClient, *http.Response, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	url := "ws" + strings.TrimPrefix(e.url("transport=websocket"+query), "http")
	conn, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: header})
	if err != nil {
		return nil, resp, err
	}
	conn.SetReadLimit(1 << 20)
	t.Cleanup(func() { _ = conn.CloseNow() })
	return &wsClient{conn: conn}, resp, nil
}

func (c *wsClient) read(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, data, err := c.conn.Read(ctx)
	require.NoError(t, err)
	return string(data)
}

// readSkippingPings reads the next packet that is not a ping, answering
// pings.
func (c *wsClient) readSkippingPings(t testing.TB) string {
	t.Helper()
	for {
		pkt := c.read(t)
		if pkt != "2" {
			return pkt
		}
		c.write(t, "3")
	}
}

func (c *wsClient) write(t testing.TB, pkt string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, c.conn.Write(ctx, websocket.MessageText, []byte(pkt)))
}

// readUntilClosed reads until the connection ends and returns the packets
// read and the close error.
func (c *wsClient) readUntilClosed(t testing.TB) ([]string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var packets []string
	for {
		_, data, err := c.conn.Read(ctx)
		if err != nil {
			require.NoError(t, ctx.Err(), "connection not closed in time")
			return packets, err
		}
		packets = append(packets, string(data))
	}
}

// open reads the open packet of a WebSocket session.
func (c *wsClient) open(t testing.TB) openInfo {
	t.Helper()
	pkt := c.read(t)
	require.True(t, bytes.HasPrefix([]byte(pkt), []byte("0{")), pkt)
	var o openInfo
	require.NoError(t, json.Unmarshal([]byte(pkt[1:]), &o))
	return o
}

// connect connects a WebSocket session as u with token and checks 40 and
// registered.
func (c *wsClient) connect(t testing.TB, u domain.UserID, token string) {
	t.Helper()
	c.open(t)
	c.write(t, `40{"token":"`+token+`"}`)
	require.True(t, strings.HasPrefix(c.readSkippingPings(t), `40{"sid":"`))
	requireEvent(t, c.readSkippingPings(t), domain.EventRegistered, map[string]any{"userId": string(u)})
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
