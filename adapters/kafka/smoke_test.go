package kafka_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/adapters/kafka"
	"github.com/messenger-go/messenger/ports"
)

func TestSmoke(t *testing.T) {
	cfg := env(t)
	ctx := t.Context()
	start := time.Now()
	require.NoError(t, kafka.EnsureTopics(ctx, cfg, map[string]int{"smoke": 3}))
	t.Log("ensure", time.Since(start))
	p := newPublisher(t, cfg)
	for i := range 10 {
		s := time.Now()
		require.NoError(t, p.Publish(ctx, "smoke", []byte(fmt.Sprint("k", i%3)), []byte(fmt.Sprint(i))))
		t.Log("publish", time.Since(s))
	}
	s := newSubscriber(t, cfg)
	cctx, cancel := context.WithCancel(ctx)
	var mu sync.Mutex
	var got []ports.Record
	done := make(chan error)
	go func() {
		done <- s.Consume(cctx, "g", "smoke", func(ctx context.Context, b []ports.Record) ([]ports.Rejection, error) {
			mu.Lock()
			got = append(got, b...)
			mu.Unlock()
			t.Log("batch", len(b), time.Since(start))
			return nil, nil
		})
	}()
	require.Eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(got) == 10 }, 30*time.Second, 10*time.Millisecond)
	t.Log("lag", s.Lag())
	cancel()
	require.NoError(t, <-done)
}
