package server

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	messenger "github.com/messenger-go/messenger"
)

// serveUntilCancelled runs serve on a loopback listener with d, cancels it
// once it answers, and returns how long the shutdown took, the listener and
// serve's error.
func serveUntilCancelled(t *testing.T, cfg Config, d *deps) (took time.Duration, ln net.Listener, err error) {
	t.Helper()
	ln, err = net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	ready := make(chan string, 1)
	done := make(chan error, 1)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	go func() { done <- serve(ctx, cfg, logger, ln, d, func(l Listening) { ready <- l.Addr }) }()

	select {
	case addr := <-ready:
		resp, err := http.Get("http://" + addr + "/healthz")
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
	case err := <-done:
		t.Fatalf("serve did not start: %v", err)
	}

	cancel()
	start := time.Now()
	select {
	case err := <-done:
		return time.Since(start), ln, err
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not return within 30s")
		return 0, nil, nil
	}
}

func TestShutdownKeepsOneDeadlineAndReportsEveryCloser(t *testing.T) {
	const deadline = 300 * time.Millisecond
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })

	d := &deps{}
	var mu sync.Mutex
	var order []string
	closing := func(name string) {
		mu.Lock()
		defer mu.Unlock()
		order = append(order, name)
	}
	var stuckDeadline atomic.Bool
	d.onClose("opened first", func(context.Context) error {
		closing("opened first")
		return nil
	})
	d.onClose("stuck", func(ctx context.Context) error {
		_, ok := ctx.Deadline()
		stuckDeadline.Store(ok)
		<-release // a client that never finishes closing
		return nil
	})
	d.onClose("failing", func(context.Context) error {
		closing("failing")
		return errors.New("disk on fire")
	})

	took, ln, err := serveUntilCancelled(t, Config{ShutdownTimeout: deadline}, d)

	require.Error(t, err)
	assert.ErrorContains(t, err, "close failing: disk on fire", "a closer's error is reported")
	assert.ErrorContains(t, err, "close stuck: not done by the shutdown deadline")
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Less(t, took, deadline+5*time.Second, "the shutdown returns at its deadline, not when the stuck client gives up")
	assert.True(t, stuckDeadline.Load(), "each closer is given the shutdown's deadline")
	mu.Lock()
	assert.Equal(t, "failing", order[0], "clients close in reverse order of opening")
	mu.Unlock()
	_, err = ln.Accept()
	assert.ErrorIs(t, err, net.ErrClosed, "the listener is closed")
}

func TestShutdownWithoutErrors(t *testing.T) {
	d := &deps{}
	var closed atomic.Int32
	d.onClose("client", func(context.Context) error { closed.Add(1); return nil })

	_, ln, err := serveUntilCancelled(t, Config{ShutdownTimeout: 10 * time.Second}, d)

	require.NoError(t, err)
	assert.Equal(t, int32(1), closed.Load())
	_, err = ln.Accept()
	assert.ErrorIs(t, err, net.ErrClosed)
}

func TestFailedStartClosesTheListenerAndTheClients(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer busy.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)

	d := &deps{config: messenger.Config{}}
	var closed atomic.Int32
	d.onClose("client", func(context.Context) error { closed.Add(1); return nil })
	cfg := Config{ShutdownTimeout: 10 * time.Second, MetricsAddr: busy.Addr().String()}

	err = serve(t.Context(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), ln, d, nil)

	require.ErrorContains(t, err, "MESSENGER_METRICS_ADDR", "the metrics listener's address is taken")
	assert.Equal(t, int32(1), closed.Load(), "the clients opened before the failure are closed")
	_, err = ln.Accept()
	assert.ErrorIs(t, err, net.ErrClosed, "the listener is closed")
}
