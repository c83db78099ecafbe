package socketio_test

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/messenger-go/messenger/domain"
)

// The benchmarks here are those of adapters/websocket for a Socket.IO
// socket, to be read beside them (docs/socketio.md).

// BenchmarkNotifyToSocket measures one newMessage from Notify to a
// Socket.IO client's read over loopback, on the WebSocket transport,
// pipelined with at most 128 frames in flight (under the default queue
// bound).
func BenchmarkNotifyToSocket(b *testing.B) {
	e := newEnv(b, nil)
	a, peer := domain.NewUserID(), domain.NewUserID()
	conv, err := domain.NewConversationID(a, peer)
	if err != nil {
		b.Fatal(err)
	}
	c, _, err := e.dial(b, "", nil)
	if err != nil {
		b.Fatal(err)
	}
	c.connect(b, a, e.svc.token(a, time.Time{}))
	inflight := make(chan struct{}, 128)
	done := make(chan int)
	go func() {
		n := 0
		for n < b.N {
			_, data, err := c.conn.Read(context.Background())
			if err != nil {
				break
			}
			if string(data) == "2" {
				_ = c.conn.Write(context.Background(), websocket.MessageText, []byte("3"))
				continue
			}
			<-inflight
			n++
		}
		done <- n
	}()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		inflight <- struct{}{}
		m := domain.Message{ID: domain.MessageID(domain.NewUUID()), ClientMessageID: "c", ConversationID: conv, Sequence: domain.Sequence(i + 1),
			SenderID: peer, ReceiverID: a, Text: "hello", Type: domain.MessageText, SentAt: time.Now().UTC()}
		if err := e.hub.Notify(context.Background(), []domain.UserID{a}, domain.NewMessageEvent(m)); err != nil {
			b.Fatal(err)
		}
	}
	if n := <-done; n != b.N {
		b.Fatalf("read %d of %d frames (overflows %d)", n, b.N, e.hub.Overflows())
	}
}

// BenchmarkSocketMemory reports the heap and stack held per open, idle
// Socket.IO socket on the WebSocket transport, client and server side
// together (both live in this process).
func BenchmarkSocketMemory(b *testing.B) {
	const sockets = 500
	e := newEnv(b, nil)
	for range b.N {
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		conns := make([]*websocket.Conn, 0, sockets)
		for range sockets {
			u := domain.NewUserID()
			c, _, err := e.dial(b, "", nil)
			if err != nil {
				b.Fatal(err)
			}
			c.connect(b, u, e.svc.token(u, time.Time{}))
			conns = append(conns, c.conn)
		}
		runtime.GC()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapInuse-before.HeapInuse)/sockets, "heap-B/socket")
		b.ReportMetric(float64(after.StackInuse-before.StackInuse)/sockets, "stack-B/socket")
		for _, c := range conns {
			_ = c.Close(websocket.StatusNormalClosure, "")
		}
	}
}
