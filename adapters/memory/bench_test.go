package memory_test

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/messenger-go/messenger/adapters/memory"
	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
)

// chatter builds batches of messages spread over 500 conversations of 1,000
// users, the consumer's shape under load.
type chatter struct {
	users []domain.UserID
	text  string
	n     int // messages built so far
}

func newChatter(text string) *chatter {
	users := make([]domain.UserID, 1000)
	for i := range users {
		users[i] = domain.NewUserID()
	}
	return &chatter{users: users, text: text}
}

// fill replaces batch's messages with the next ones.
func (c *chatter) fill(b *testing.B, batch []ports.Append) {
	for j := range batch {
		pair := (c.n % 500) * 2
		m, err := domain.NewMessage(domain.Draft{SenderID: c.users[pair], ReceiverID: c.users[pair+1], Text: c.text, ClientMessageID: fmt.Sprint(c.n)}, time.Now())
		if err != nil {
			b.Fatal(err)
		}
		batch[j] = ports.Append{Message: m}
		c.n++
	}
}

// BenchmarkAppendBatch stores batches of 100 messages spread over 500
// conversations, the consumer's shape under load.
func BenchmarkAppendBatch(b *testing.B) {
	s := memory.NewStore()
	chat := newChatter("hello there")
	const size = 100
	batch := make([]ports.Append, size)
	b.ResetTimer()
	for i := 0; i < b.N; i += size {
		b.StopTimer()
		chat.fill(b, batch)
		b.StartTimer()
		if _, err := s.AppendBatch(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCollectHistory measures a full garbage collection of a process
// whose store holds 500,000 messages of 64 bytes in 500 conversations: the
// embedded default marks its whole history on every collection. It reports
// the live heap too.
func BenchmarkCollectHistory(b *testing.B) {
	s := memory.NewStore()
	chat := newChatter(strings.Repeat("x", 64))
	const total, size = 500_000, 100
	batch := make([]ports.Append, size)
	for chat.n < total {
		chat.fill(b, batch)
		if _, err := s.AppendBatch(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
	}
	clear(batch)
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ResetTimer()
	for b.Loop() {
		runtime.GC()
	}
	b.StopTimer()
	b.ReportMetric(float64(ms.HeapAlloc)/(1<<20), "live-MiB")
	runtime.KeepAlive(s)
}

// BenchmarkLog publishes records from 4 goroutines and consumes them with one
// group of 2 members; it reports records/s end to end.
func BenchmarkLog(b *testing.B) {
	l, err := memory.NewLog(memory.LogConfig{Topics: map[string]int{"t": 10}})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	var got atomic.Int64
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for range 2 {
		go func() {
			_ = l.Consume(ctx, "g", "t", func(_ context.Context, batch []ports.Record) ([]ports.Rejection, error) {
				got.Add(int64(len(batch)))
				return nil, nil
			})
		}()
	}
	value := make([]byte, 300)
	start := time.Now()
	b.ResetTimer()
	b.SetParallelism(2)
	var key atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		k := []byte(fmt.Sprint(key.Add(1)))
		for pb.Next() {
			if err := l.Publish(ctx, "t", k, value); err != nil {
				b.Error(err)
				return
			}
		}
	})
	for got.Load() < int64(b.N) {
		time.Sleep(time.Millisecond)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "records/s")
}
