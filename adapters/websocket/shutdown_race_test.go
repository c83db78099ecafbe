package websocket_test

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
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

// upgradeGate is a listener whose connections hold the server's upgrade
// answer (101 Switching Protocols) until the test opens the gate: the
// handler is then between its shutdown check and registering the socket.
type upgradeGate struct {
	net.Listener
	held chan struct{} // receives once an upgrade answer is held
	open chan struct{} // closed by the test to let it through
}

func (g *upgradeGate) Accept() (net.Conn, error) {
	c, err := g.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &gatedConn{Conn: c, gate: g}, nil
}

type gatedConn struct {
	net.Conn
	gate *upgradeGate
	once sync.Once
}

func (c *gatedConn) Write(p []byte) (int, error) {
	if bytes.HasPrefix(p, []byte("HTTP/1.1 101")) {
		c.once.Do(func() {
			c.gate.held <- struct{}{}
			<-c.gate.open
		})
	}
	return c.Conn.Write(p)
}

// TestShutdownRacingANewConnection: Shutdown runs while a connection is
// being upgraded, after the handler found the hub open. The new socket is
// not left behind: it is closed with the shutdown's code and reason, never
// registered, and Shutdown does not wait for it.
func TestShutdownRacingANewConnection(t *testing.T) {
	svc := newFakeService()
	presence := newFakePresence()
	hub, err := realtime.NewHub(realtime.HubConfig{Node: "node-1", Presence: presence})
	require.NoError(t, err)
	handler, err := ws.NewHandler(ws.HandlerConfig{Hub: hub, Service: svc})
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("GET /ws", handler)
	srv := httptest.NewUnstartedServer(mux)
	gate := &upgradeGate{Listener: srv.Listener, held: make(chan struct{}, 1), open: make(chan struct{})}
	srv.Listener = gate
	srv.Start()
	t.Cleanup(srv.Close)

	u := domain.NewUserID()
	dialed := make(chan *websocket.Conn, 1)
	dialErr := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		url := "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws"
		conn, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + svc.token(u)}}})
		if err != nil {
			dialErr <- err
			return
		}
		dialed <- conn
	}()
	select {
	case <-gate.held:
	case err := <-dialErr:
		t.Fatalf("dial: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("the upgrade was not answered")
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, hub.Shutdown(ctx), "nothing registered yet: Shutdown has nothing to wait for")
	close(gate.open)

	var conn *websocket.Conn
	select {
	case conn = <-dialed:
	case err := <-dialErr:
		t.Fatalf("dial: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("the dial did not complete")
	}
	t.Cleanup(func() { _ = conn.CloseNow() })
	c := &client{conn: conn}
	_, err = c.readUntilClosed(t, 10*time.Second)
	requireCloseStatus(t, err, websocket.StatusGoingAway, "server shutting down, reconnect")
	assert.Zero(t, hub.Sockets())
	_, regs, _ := presence.state(u)
	assert.Zero(t, regs, "a socket the shut hub refused is not announced online")
}
