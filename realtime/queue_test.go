package realtime

import (
	"context"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestQueueBoundsWhatTheWriterHasNotWritten drives a socket's queue the way
// Hub.Notify and writeLoop do: QueueSize bounds the frames queued plus those
// the writer took and has not written, each written frame frees its place at
// once, and a finished batch keeps no frame reachable.
func TestQueueBoundsWhatTheWriterHasNotWritten(t *testing.T) {
	hub, err := NewHub(HubConfig{QueueSize: 40})
	require.NoError(t, err)
	s := &Socket{ep: &Endpoint{cfg: Config{Hub: hub}, log: hub.log}}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	t.Cleanup(s.cancel)

	offer := func(n int, tag string) []*Frame {
		fs := make([]*Frame, n)
		for i := range fs {
			fs[i] = &Frame{event: tag + strconv.Itoa(i)}
			s.Enqueue(fs[i])
		}
		return fs
	}

	// Ten rounds of 30 frames, each taken and written as one batch: 300
	// frames through a queue of 40, in batches larger than the writer keeps
	// buffers for.
	var batch []*Frame
	for round := range 10 {
		want := offer(30, "r"+strconv.Itoa(round)+"-")
		require.True(t, s.hasWork(), "round %d: work for a writer", round)
		batch = s.take(batch)
		require.Equal(t, want, batch, "round %d: every frame, in order", round)
		for range batch {
			s.sent()
		}
		done := batch
		batch = recycle(batch)
		for i, f := range done {
			require.Nil(t, f, "round %d: written frame %d still referenced", round, i)
		}
	}
	require.NoError(t, s.ctx.Err(), "a socket whose writer keeps up is never closed")
	assert.Zero(t, hub.Overflows())

	// The writer took 30 and wrote 5 of them: 15 more fit, the 16th
	// overflows.
	offer(30, "taken-")
	batch = s.take(batch)
	require.Len(t, batch, 30)
	for range 5 {
		s.sent()
	}
	offer(15, "late-")
	require.NoError(t, s.ctx.Err())
	offer(1, "over-")
	assert.Error(t, s.ctx.Err(), "the socket is closing")
	assert.Equal(t, CloseTooSlow, s.closing)
	assert.EqualValues(t, 1, hub.Overflows())
}
