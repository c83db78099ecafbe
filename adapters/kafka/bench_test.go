package kafka_test

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/adapters/kafka"
	"github.com/messenger-go/messenger/ports"
)

// BenchmarkPublish measures acknowledged publishes (acks=all, idempotent) of
// 256-byte records under 1000 keys on a 10-partition topic, like
// chat-messages, for several linger settings and numbers of concurrent
// publishers. It reports throughput and the latency of Publish (enqueue to
// acknowledgement) at p50 and p99.
func BenchmarkPublish(b *testing.B) {
	for _, linger := range []time.Duration{0, time.Millisecond, 5 * time.Millisecond, 20 * time.Millisecond} {
		for _, publishers := range []int{1, 64, 256} {
			name := fmt.Sprintf("linger=%v/publishers=%d", linger, publishers)
			b.Run(name, func(b *testing.B) { benchPublish(b, linger, publishers) })
		}
	}
}

func benchPublish(b *testing.B, linger time.Duration, publishers int) {
	cfg := env(b)
	cfg.Linger = linger
	const topic = "bench"
	require.NoError(b, kafka.EnsureTopics(b.Context(), cfg, map[string]int{topic: 10}))
	p := newPublisher(b, cfg)
	value := bytes.Repeat([]byte("m"), 256)
	keys := make([][]byte, 1000)
	for i := range keys {
		keys[i] = []byte("conversation-" + strconv.Itoa(i))
	}
	for i := range 100 { // connections, producer id, metadata
		require.NoError(b, p.Publish(b.Context(), topic, keys[i], value))
	}

	latencies := make([][]time.Duration, publishers)
	var next atomic.Int64
	var failed atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for w := range publishers {
		wg.Go(func() {
			for {
				i := next.Add(1)
				if i > int64(b.N) {
					return
				}
				t0 := time.Now()
				if err := p.Publish(b.Context(), topic, keys[i%int64(len(keys))], value); err != nil {
					failed.Add(1)
					continue
				}
				latencies[w] = append(latencies[w], time.Since(t0))
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	require.Zero(b, failed.Load(), "failed publishes")

	all := slices.Concat(latencies...)
	slices.Sort(all)
	pct := func(q float64) float64 {
		return float64(all[int(q*float64(len(all)-1))]) / float64(time.Millisecond)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkConsume measures how fast one member hands a 10-partition topic's
// 256-byte records to a handler that does nothing, in batches of up to
// BatchMaxRecords, from its first batch on (the group join is not counted).
// The records are published before.
func BenchmarkConsume(b *testing.B) {
	for _, maxRecords := range []int{100, 500, 2000} {
		b.Run(fmt.Sprintf("batch=%d", maxRecords), func(b *testing.B) {
			cfg := env(b)
			cfg.BatchMaxRecords = maxRecords
			const topic = "bench"
			require.NoError(b, kafka.EnsureTopics(b.Context(), cfg, map[string]int{topic: 10}))
			p := newPublisher(b, cfg)
			value := bytes.Repeat([]byte("m"), 256)
			var next, failed atomic.Int64
			var wg sync.WaitGroup
			for range 256 {
				wg.Go(func() {
					for i := next.Add(1); i <= int64(b.N); i = next.Add(1) {
						if p.Publish(b.Context(), topic, []byte(strconv.FormatInt(i%1000, 10)), value) != nil {
							failed.Add(1)
						}
					}
				})
			}
			wg.Wait()
			require.Zero(b, failed.Load(), "failed publishes")

			s := newSubscriber(b, cfg)
			var seen, batches atomic.Int64
			var start time.Time
			var first int
			done := make(chan struct{})
			ctx, cancel := context.WithCancel(b.Context())
			defer cancel()
			b.ResetTimer()
			go func() {
				_ = s.Consume(ctx, "bench", topic, func(_ context.Context, batch []ports.Record) ([]ports.Rejection, error) {
					if batches.Add(1) == 1 {
						start, first = time.Now(), len(batch)
					}
					if seen.Add(int64(len(batch))) >= int64(b.N) {
						select {
						case done <- struct{}{}:
						default:
						}
					}
					return nil, nil
				})
			}()
			select {
			case <-done:
			case <-time.After(5 * time.Minute):
				b.Fatalf("consumed %d of %d records", seen.Load(), b.N)
			}
			elapsed := time.Since(start)
			b.StopTimer()
			b.ReportMetric(float64(b.N-first)/elapsed.Seconds(), "records/s")
			b.ReportMetric(float64(seen.Load())/float64(batches.Load()), "records/batch")
			b.ReportMetric(0, "ns/op")
		})
	}
}
