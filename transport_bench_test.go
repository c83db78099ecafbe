package messenger_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/messenger-go/messenger/adapters/socketio"
	ws "github.com/messenger-go/messenger/adapters/websocket"
	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
	"github.com/messenger-go/messenger/realtime"
)

// The benchmarks in this file put the two real-time transports side by side
// on one hub, in the same conditions: /ws and /socket.io/ (its WebSocket
// transport). docs/socketio.md has their figures.

// tokenIsUser authenticates a token that is a user id as that user; an idle
// or live-only socket calls nothing else.
type tokenIsUser struct{ ports.Service }

func (tokenIsUser) Authenticate(_ context.Context, token string) (domain.UserID, time.Time, error) {
	return domain.UserID(token), time.Time{}, nil
}

// transportBench is one transport's server and a client that dials it.
type transportBench struct {
	name string
	hub  *realtime.Hub
	// dial opens u's socket, reads up to registered, and returns the
	// connection to read events from.
	dial func(b *testing.B, u domain.UserID) *websocket.Conn
}

func transports(b *testing.B) []transportBench {
	b.Helper()
	var out []transportBench
	for _, name := range []string{"ws", "socketio"} {
		hub, err := realtime.NewHub(realtime.HubConfig{})
		if err != nil {
			b.Fatal(err)
		}
		var h http.Handler
		var path string
		switch name {
		case "ws":
			h, err = ws.NewHandler(ws.HandlerConfig{Hub: hub, Service: tokenIsUser{}})
			path = "/ws?access_token="
		default:
			h, err = socketio.NewHandler(socketio.HandlerConfig{Hub: hub, Service: tokenIsUser{}})
			path = "/socket.io/?EIO=4&transport=websocket&access_token="
		}
		if err != nil {
			b.Fatal(err)
		}
		srv := httptest.NewServer(h)
		b.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = hub.Shutdown(ctx)
			srv.Close()
		})
		base := "ws" + strings.TrimPrefix(srv.URL, "http") + path
		handshake := 1 // registered
		if name == "socketio" {
			handshake = 3 // the open packet, 40, registered
		}
		out = append(out, transportBench{name: name, hub: hub, dial: func(b *testing.B, u domain.UserID) *websocket.Conn {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			c, _, err := websocket.Dial(ctx, base+string(u), nil)
			if err != nil {
				b.Fatal(err)
			}
			for i := range handshake {
				if _, _, err := c.Read(ctx); err != nil {
					b.Fatal(err)
				}
				if name == "socketio" && i == 0 {
					if err := c.Write(ctx, websocket.MessageText, []byte("40")); err != nil {
						b.Fatal(err)
					}
				}
			}
			return c
		}})
	}
	return out
}

// BenchmarkDeliveredMessage measures one newMessage from Notify to the
// client's read over loopback, pipelined with at most 128 frames in flight
// (under the default queue bound); the messages are built beforehand.
func BenchmarkDeliveredMessage(b *testing.B) {
	for _, tr := range transports(b) {
		b.Run(tr.name, func(b *testing.B) {
			a, peer := domain.NewUserID(), domain.NewUserID()
			conv, err := domain.NewConversationID(a, peer)
			if err != nil {
				b.Fatal(err)
			}
			c := tr.dial(b, a)
			defer c.CloseNow()
			events := make([]domain.Event, b.N)
			for i := range events {
				events[i] = domain.NewMessageEvent(domain.Message{
					ID: domain.DeriveMessageID(peer, strconv.Itoa(i)), ClientMessageID: strconv.Itoa(i), ConversationID: conv,
					Sequence: domain.Sequence(i + 1), SenderID: peer, ReceiverID: a, Text: "hello there",
					Type: domain.MessageText, SentAt: time.Now().UTC(),
				})
			}
			inflight := make(chan struct{}, 128)
			done := make(chan int)
			go func() {
				n := 0
				for n < b.N {
					if _, _, err := c.Read(context.Background()); err != nil {
						break
					}
					<-inflight
					n++
				}
				done <- n
			}()
			b.ReportAllocs()
			b.ResetTimer()
			for _, ev := range events {
				inflight <- struct{}{}
				if err := tr.hub.Notify(context.Background(), []domain.UserID{a}, ev); err != nil {
					b.Fatal(err)
				}
			}
			if n := <-done; n != b.N {
				b.Fatalf("read %d of %d frames (overflows %d)", n, b.N, tr.hub.Overflows())
			}
		})
	}
}

// BenchmarkIdleSocketMemory reports the heap and stack held per open, idle
// socket, client and server side together (both live in this process).
func BenchmarkIdleSocketMemory(b *testing.B) {
	const sockets = 1000
	for _, tr := range transports(b) {
		b.Run(tr.name, func(b *testing.B) {
			for range b.N {
				runtime.GC()
				var before runtime.MemStats
				runtime.ReadMemStats(&before)
				conns := make([]*websocket.Conn, 0, sockets)
				for range sockets {
					conns = append(conns, tr.dial(b, domain.NewUserID()))
				}
				runtime.GC()
				var after runtime.MemStats
				runtime.ReadMemStats(&after)
				b.ReportMetric(float64(after.HeapInuse-before.HeapInuse)/sockets, "heap-B/socket")
				b.ReportMetric(float64(after.StackInuse-before.StackInuse)/sockets, "stack-B/socket")
				b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/sockets, "live-B/socket")
				for _, c := range conns {
					_ = c.Close(websocket.StatusNormalClosure, "")
				}
			}
		})
	}
}
