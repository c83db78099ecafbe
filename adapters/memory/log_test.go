package memory_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/adapters/memory"
	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
	"github.com/messenger-go/messenger/ports/portstest"
)

func TestLog(t *testing.T) {
	portstest.RunLog(t, func(t *testing.T, topic string, partitions int) (ports.Publisher, ports.Subscriber) {
		l, err := memory.NewLog(memory.LogConfig{Topics: map[string]int{topic: partitions}})
		require.NoError(t, err)
		t.Cleanup(func() { require.NoError(t, l.Close()) })
		return l, l
	})
}

func newLog(t *testing.T, cfg memory.LogConfig) *memory.Log {
	t.Helper()
	l, err := memory.NewLog(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, l.Close()) })
	return l
}

// consume runs Consume in the background until the test ends and returns a
// function that stops it and returns Consume's error.
func consume(t *testing.T, l *memory.Log, group, topic string, h ports.BatchHandler) func() error {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- l.Consume(ctx, group, topic, h) }()
	var once sync.Once
	var err error
	stop := func() error {
		once.Do(func() {
			cancel()
			err = <-done
		})
		return err
	}
	t.Cleanup(func() { _ = stop() })
	return stop
}

// collector is a handler that keeps what it was given.
type collector struct {
	mu      sync.Mutex
	records []ports.Record
	batches []int
}

func (c *collector) handle(_ context.Context, batch []ports.Record) ([]ports.Rejection, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.records = append(c.records, batch...)
	c.batches = append(c.batches, len(batch))
	return nil, nil
}

func (c *collector) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.records)
}

func (c *collector) values() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	vs := make([]string, len(c.records))
	for i, r := range c.records {
		vs[i] = string(r.Value)
	}
	return vs
}

func TestNewLogRejectsBadConfig(t *testing.T) {
	cases := []struct {
		name string
		cfg  memory.LogConfig
	}{
		{"no partitions", memory.LogConfig{Topics: map[string]int{"t": 0}}},
		{"no topic name", memory.LogConfig{Topics: map[string]int{"": 1}}},
		{"negative batch", memory.LogConfig{MaxBatch: -1}},
		{"negative record size", memory.LogConfig{MaxRecordBytes: -1}},
		{"negative backoff", memory.LogConfig{MinBackoff: -time.Second}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := memory.NewLog(c.cfg)
			assert.Equal(t, domain.KindInvalid, domain.KindOf(err), "error %v", err)
		})
	}
}

func TestLogDefaultTopicsAreTheGuides(t *testing.T) {
	l := newLog(t, memory.LogConfig{})
	for topic, partitions := range memory.GuideTopics() {
		for _, name := range []string{topic, ports.DeadLetterTopic(topic)} {
			require.NoError(t, l.Publish(t.Context(), name, []byte("k"), []byte("v")), name)
			assert.NoError(t, l.CreateTopic(name, partitions), "%s exists with %d partitions", name, partitions)
			assert.Equal(t, domain.KindConflict, domain.KindOf(l.CreateTopic(name, partitions+1)), name)
		}
	}
	assert.Equal(t, 10, memory.GuideTopics()[ports.TopicChatMessages])
}

func TestLogPublishErrors(t *testing.T) {
	l := newLog(t, memory.LogConfig{Topics: map[string]int{"t": 2}, MaxRecordBytes: 10})
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	cases := []struct {
		name  string
		ctx   context.Context
		topic string
		value string
		kind  domain.Kind
	}{
		{"unknown topic", t.Context(), "nope", "v", domain.KindInvalid},
		{"too large", t.Context(), "t", "0123456789", domain.KindTooLarge},
		{"cancelled context", cancelled, "t", "v", domain.KindUnavailable},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := l.Publish(c.ctx, c.topic, []byte("k"), []byte(c.value))
			assert.Equal(t, c.kind, domain.KindOf(err), "error %v", err)
		})
	}
	t.Run("exactly at the limit", func(t *testing.T) {
		assert.NoError(t, l.Publish(t.Context(), "t", []byte("k"), []byte("012345678")))
	})
}

func TestLogConsumeUnknownTopic(t *testing.T) {
	l := newLog(t, memory.LogConfig{Topics: map[string]int{"t": 1}})
	var c collector
	err := l.Consume(t.Context(), "g", "nope", c.handle)
	assert.Equal(t, domain.KindInvalid, domain.KindOf(err), "error %v", err)
}

func TestLogKeepsItsOwnCopies(t *testing.T) {
	l := newLog(t, memory.LogConfig{Topics: map[string]int{"t": 1}})
	v := []byte("original")
	require.NoError(t, l.Publish(t.Context(), "t", []byte("k"), v))
	copy(v, "CHANGED!")
	var c collector
	consume(t, l, "g", "t", c.handle)
	require.Eventually(t, func() bool { return c.count() == 1 }, 5*time.Second, time.Millisecond)
	assert.Equal(t, []string{"original"}, c.values())
}

func TestLogBatchesAreBounded(t *testing.T) {
	l := newLog(t, memory.LogConfig{Topics: map[string]int{"t": 3}, MaxBatch: 7})
	for i := range 50 {
		require.NoError(t, l.Publish(t.Context(), "t", []byte(fmt.Sprint(i%5)), []byte(fmt.Sprint(i))))
	}
	var c collector
	consume(t, l, "g", "t", c.handle)
	require.Eventually(t, func() bool { return c.count() == 50 }, 5*time.Second, time.Millisecond)
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, n := range c.batches {
		assert.LessOrEqual(t, n, 7)
	}
	assert.Less(t, len(c.batches), 50, "records are batched")
}

func TestLogSpreadsKeylessRecords(t *testing.T) {
	l := newLog(t, memory.LogConfig{Topics: map[string]int{"t": 4}})
	for range 8 {
		require.NoError(t, l.Publish(t.Context(), "t", nil, []byte("v")))
	}
	var c collector
	consume(t, l, "g", "t", c.handle)
	require.Eventually(t, func() bool { return c.count() == 8 }, 5*time.Second, time.Millisecond)
	perPartition := map[int32]int{}
	c.mu.Lock()
	for _, r := range c.records {
		perPartition[r.Partition]++
	}
	c.mu.Unlock()
	assert.Equal(t, map[int32]int{0: 2, 1: 2, 2: 2, 3: 2}, perPartition)
}

func TestLogBacksOffAfterFailures(t *testing.T) {
	l := newLog(t, memory.LogConfig{Topics: map[string]int{"t": 1}, MinBackoff: 20 * time.Millisecond, MaxBackoff: 50 * time.Millisecond})
	require.NoError(t, l.Publish(t.Context(), "t", []byte("k"), []byte("v")))
	var mu sync.Mutex
	var calls []time.Time
	consume(t, l, "g", "t", func(context.Context, []ports.Record) ([]ports.Rejection, error) {
		mu.Lock()
		defer mu.Unlock()
		calls = append(calls, time.Now())
		if len(calls) <= 4 {
			return nil, errors.New("failing")
		}
		return nil, nil
	})
	require.Eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(calls) == 5 }, 5*time.Second, time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	for i, min := range []time.Duration{20, 40, 50, 50} { // doubling, capped at MaxBackoff
		assert.GreaterOrEqual(t, calls[i+1].Sub(calls[i]), min*time.Millisecond, "wait before retry %d", i+1)
	}
}

func TestLogRetention(t *testing.T) {
	cases := []struct {
		name      string
		retention time.Duration
		want      []string
	}{
		{"committed records are dropped after the retention", time.Nanosecond, []string{"5", "6", "7"}},
		{"negative retention keeps everything", -1, []string{"0", "1", "2", "3", "4", "5", "6", "7"}},
		{"records younger than the retention are kept", time.Hour, []string{"0", "1", "2", "3", "4", "5", "6", "7"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l := newLog(t, memory.LogConfig{Topics: map[string]int{"t": 1}, Retention: tc.retention})
			for i := range 5 {
				require.NoError(t, l.Publish(t.Context(), "t", []byte("k"), []byte(fmt.Sprint(i))))
			}
			var first collector
			stop := consume(t, l, "first", "t", first.handle)
			require.Eventually(t, func() bool { return first.count() == 5 }, 5*time.Second, time.Millisecond)
			require.NoError(t, stop())
			for i := 5; i < 8; i++ {
				require.NoError(t, l.Publish(t.Context(), "t", []byte("k"), []byte(fmt.Sprint(i))))
			}
			var late collector
			consume(t, l, "late", "t", late.handle)
			require.Eventually(t, func() bool { return late.count() == len(tc.want) }, 5*time.Second, time.Millisecond)
			assert.Equal(t, tc.want, late.values(), "a late group starts at the oldest record kept")
		})
	}
}

func TestLogDeadLetterKeepsKeyAndPartition(t *testing.T) {
	l := newLog(t, memory.LogConfig{Topics: map[string]int{"t": 5}})
	require.NoError(t, l.Publish(t.Context(), "t", []byte("some key"), []byte("poison")))
	var main collector
	consume(t, l, "g", "t", func(ctx context.Context, batch []ports.Record) ([]ports.Rejection, error) {
		_, _ = main.handle(ctx, batch)
		var rej []ports.Rejection
		for _, r := range batch {
			if string(r.Value) == "poison" {
				rej = append(rej, ports.Rejection{Record: r, Reason: "poison"})
			}
		}
		return rej, nil
	})
	var dead collector
	consume(t, l, "d", ports.DeadLetterTopic("t"), dead.handle)
	require.Eventually(t, func() bool { return dead.count() == 1 }, 5*time.Second, time.Millisecond)
	require.NoError(t, l.Publish(t.Context(), "t", []byte("some key"), []byte("fine")))
	require.Eventually(t, func() bool { return main.count() >= 2 }, 5*time.Second, time.Millisecond)
	assert.Equal(t, []string{"poison", "fine"}, main.values(), "a rejected record is committed, not retried")
	dead.mu.Lock()
	defer dead.mu.Unlock()
	main.mu.Lock()
	defer main.mu.Unlock()
	assert.Equal(t, "some key", string(dead.records[0].Key))
	assert.Equal(t, main.records[0].Partition, dead.records[0].Partition)
}

func TestLogClose(t *testing.T) {
	l, err := memory.NewLog(memory.LogConfig{Topics: map[string]int{"t": 1}})
	require.NoError(t, err)
	require.NoError(t, l.Publish(t.Context(), "t", []byte("k"), []byte("v")))

	inBatch, release := make(chan struct{}), make(chan struct{})
	var committedOnce sync.Once
	consumed := make(chan error, 1)
	go func() {
		consumed <- l.Consume(context.Background(), "g", "t", func(context.Context, []ports.Record) ([]ports.Rejection, error) {
			committedOnce.Do(func() { close(inBatch) })
			<-release
			return nil, nil
		})
	}()
	<-inBatch
	closed := make(chan error, 1)
	go func() { closed <- l.Close() }()
	select {
	case <-closed:
		t.Fatal("Close returned while a batch was in flight")
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	require.NoError(t, <-closed)
	require.NoError(t, <-consumed, "Consume returns nil when the log closes")

	require.NoError(t, l.Close(), "a second Close")
	err = l.Publish(t.Context(), "t", []byte("k"), []byte("v"))
	assert.Equal(t, domain.KindUnavailable, domain.KindOf(err), "publish after close: %v", err)
	var c collector
	err = l.Consume(t.Context(), "g", "t", c.handle)
	assert.Equal(t, domain.KindUnavailable, domain.KindOf(err), "consume after close: %v", err)
}
