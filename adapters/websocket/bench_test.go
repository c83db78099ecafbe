package websocket_test

import (
	"context"
	"runtime"
	"testing"

	"github.com/coder/websocket"

	"github.com/messenger-go/messenger/domain"
)

// BenchmarkNotifyToSocket measures one newMessage from Notify to a client's
// read over loopback, pipelined with at most 128 frames in flight (under the
// default queue bound).
func BenchmarkNotifyToSocket(b *testing.B) {
	e := newEnv(b, nil)
	a, peer := domain.NewUserID(), domain.NewUserID()
	c := e.dial(b, a)
	inflight := make(chan struct{}, 128)
	done := make(chan int)
	go func() {
		n := 0
		for n < b.N {
			if _, _, err := c.conn.Read(context.Background()); err != nil {
				break
			}
			<-inflight
			n++
		}
		done <- n
	}()
	b.ResetTimer()
	for range b.N {
		inflight <- struct{}{}
		m := e.svc.appendMessage(peer, a)
		if err := e.hub.Notify(context.Background(), []domain.UserID{a}, domain.NewMessageEvent(m)); err != nil {
			b.Fatal(err)
		}
	}
	if n := <-done; n != b.N {
		b.Fatalf("read %d of %d frames (overflows %d)", n, b.N, e.hub.Overflows())
	}
}

// BenchmarkSocketMemory reports the heap held per open socket, client and
// server side together (both live in this process).
func BenchmarkSocketMemory(b *testing.B) {
	const sockets = 500
	e := newEnv(b, nil)
	for range b.N {
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		conns := make([]*websocket.Conn, 0, sockets)
		for range sockets {
			conns = append(conns, e.dial(b, domain.NewUserID()).conn)
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
