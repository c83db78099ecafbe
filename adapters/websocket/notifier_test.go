package websocket_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	ws "github.com/messenger-go/messenger/adapters/websocket"
	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
	"github.com/messenger-go/messenger/ports/portstest"
	"github.com/messenger-go/messenger/realtime"
)

// The Hub is the local Notifier: the devices of the contract are real
// sockets, opened through the Handler and read as a client reads them.
func TestHubNotifierContract(t *testing.T) {
	portstest.RunNotifier(t, func(t *testing.T) (ports.Notifier, portstest.Devices) {
		hub, err := realtime.NewHub(realtime.HubConfig{})
		require.NoError(t, err)
		h, err := ws.NewHandler(ws.HandlerConfig{Hub: hub, Service: tokenIsUser{}, ResumeGrace: -1})
		require.NoError(t, err)
		srv := httptest.NewUnstartedServer(h)
		// Small send buffers, so that a socket that reads nothing soon
		// blocks its writer and the queue behind it fills up.
		srv.Listener = smallSendBuffers{srv.Listener}
		srv.Start()
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			assert.NoError(t, hub.Shutdown(ctx))
			srv.Close()
		})
		return hub, hubSockets{hub: hub, url: "ws" + strings.TrimPrefix(srv.URL, "http")}
	})
}

type smallSendBuffers struct{ net.Listener }

func (l smallSendBuffers) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		err = tc.SetWriteBuffer(16 << 10)
	}
	return c, err
}

// tokenIsUser authenticates a token that is a user id as that user; the
// Handler calls nothing else of the service for sockets that send nothing.
type tokenIsUser struct {
	ports.Service
}

func (tokenIsUser) Authenticate(_ context.Context, token string) (domain.UserID, time.Time, error) {
	u, err := domain.ParseUserID(token)
	if err != nil {
		return "", time.Time{}, domain.Errorf(domain.KindUnauthenticated, "unknown token")
	}
	return u, time.Time{}, nil
}

// hubSockets opens client sockets on the Hub's Handler.
type hubSockets struct {
	hub *realtime.Hub
	url string
}

func (s hubSockets) Connect(t *testing.T, user domain.UserID) portstest.Device {
	return s.dial(t, user, nil)
}

// ConnectStalled opens a socket that reads nothing after registered, with a
// receive buffer too small to take the flood, and checks at the end of the
// test that the Hub dropped it for overflowing its queue.
func (s hubSockets) ConnectStalled(t *testing.T, user domain.UserID) {
	before := s.hub.Overflows()
	s.dial(t, user, func(c *net.TCPConn) error { return c.SetReadBuffer(4 << 10) })
	t.Cleanup(func() {
		assert.Greater(t, s.hub.Overflows(), before, "the stalled socket overflowed its queue and was dropped")
	})
}

// dial opens a socket of user and reads its registered frame: from then on
// the Hub reaches it. tune, when set, adjusts the TCP connection first.
func (s hubSockets) dial(t *testing.T, user domain.UserID, tune func(*net.TCPConn) error) hubSocket {
	t.Helper()
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err != nil || tune == nil {
			return c, err
		}
		if err := tune(c.(*net.TCPConn)); err != nil {
			_ = c.Close()
			return nil, err
		}
		return c, nil
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, s.url+"?access_token="+string(user), &websocket.DialOptions{
		HTTPClient: &http.Client{Transport: transport},
	})
	require.NoError(t, err)
	conn.SetReadLimit(1 << 20)
	t.Cleanup(func() {
		_ = conn.CloseNow()
		transport.CloseIdleConnections()
	})
	sock := hubSocket{conn: conn}
	got, err := sock.read(ctx)
	require.NoError(t, err)
	require.Equal(t, domain.EventRegistered, got.Event)
	return sock
}

// hubSocket is the client side of one socket.
type hubSocket struct {
	conn *websocket.Conn
}

func (s hubSocket) Next(ctx context.Context) (portstest.Delivered, error) {
	return s.read(ctx)
}

func (s hubSocket) read(ctx context.Context) (portstest.Delivered, error) {
	_, data, err := s.conn.Read(ctx)
	if err != nil {
		return portstest.Delivered{}, err
	}
	var frame struct {
		Event string          `json:"event"`
		Data  json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(data, &frame); err != nil {
		return portstest.Delivered{}, err
	}
	return portstest.Delivered{Event: frame.Event, Data: frame.Data}, nil
}
