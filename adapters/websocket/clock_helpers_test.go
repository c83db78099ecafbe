package websocket_test

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/require"

	ws "github.com/messenger-go/messenger/adapters/websocket"
	"github.com/messenger-go/messenger/domain"
)

// manualClock is a clock a test moves by hand, from any goroutine.
type manualClock struct {
	mu sync.Mutex
	t  time.Time
}

func newManualClock() *manualClock {
	return &manualClock{t: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
}

func (c *manualClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *manualClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// useClock makes the handler and the fake service's token checks read c.
// Call it before the first dial.
func (e *env) useClock(c *manualClock) {
	ws.SetClock(e.handler, c.now)
	e.svc.mu.Lock()
	e.svc.now = c.now
	e.svc.mu.Unlock()
}

// pingedClient is a client that reads in the background and counts the
// server's pings; it answers them with pongs only when told to.
type pingedClient struct {
	conn   *websocket.Conn
	pings  atomic.Int64
	pinged chan struct{} // one signal per ping, dropped when full
	frames chan []byte
	ended  chan error // the read error that ended the connection
}

// dialPinged connects as u; answer says whether the client answers pings.
func (e *env) dialPinged(t testing.TB, u domain.UserID, answer bool) *pingedClient {
	t.Helper()
	c := &pingedClient{pinged: make(chan struct{}, 64), frames: make(chan []byte, 1024), ended: make(chan error, 1)}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, e.url, &websocket.DialOptions{
		HTTPHeader: http.Header{"Authorization": {"Bearer " + e.svc.token(u)}},
		OnPingReceived: func(context.Context, []byte) bool {
			c.pings.Add(1)
			select {
			case c.pinged <- struct{}{}:
			default:
			}
			return answer
		},
	})
	require.NoError(t, err)
	conn.SetReadLimit(1 << 20)
	t.Cleanup(func() { _ = conn.CloseNow() })
	c.conn = conn
	go func() {
		for {
			_, data, err := conn.Read(context.Background())
			if err != nil {
				c.ended <- err
				return
			}
			c.frames <- data
		}
	}()
	name, _ := c.next(t)
	require.Equal(t, domain.EventRegistered, name)
	return c
}

// next returns the next frame's event name and data.
func (c *pingedClient) next(t testing.TB) (string, json.RawMessage) {
	t.Helper()
	select {
	case data := <-c.frames:
		var f struct {
			Event string          `json:"event"`
			Data  json.RawMessage `json:"data"`
		}
		require.NoError(t, json.Unmarshal(data, &f), "frame %s", data)
		return f.Event, f.Data
	case err := <-c.ended:
		c.ended <- err
		t.Fatalf("connection ended while a frame was awaited: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("no frame within 10s")
	}
	return "", nil
}

// waitPings waits until the client got n pings in all.
func (c *pingedClient) waitPings(t testing.TB, n int64) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for c.pings.Load() < n {
		select {
		case <-c.pinged:
		case <-deadline:
			t.Fatalf("%d of %d pings within 10s", c.pings.Load(), n)
		}
	}
}

// waitEnded waits for the connection to end and returns its read error.
func (c *pingedClient) waitEnded(t testing.TB) error {
	t.Helper()
	select {
	case err := <-c.ended:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("the connection did not end within 10s")
		return nil
	}
}
