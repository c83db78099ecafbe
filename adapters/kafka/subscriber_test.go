package kafka_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	ckafka "github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/adapters/kafka"
	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
)

const waitFor = 60 * time.Second

// sink records what a handler was given.
type sink struct {
	mu      sync.Mutex
	batches [][]ports.Record
	seen    map[string]int // value -> times handled successfully
	order   []string       // values in the order first handled
}

func newSink() *sink { return &sink{seen: make(map[string]int)} }

// add records a successfully handled batch.
func (s *sink) add(batch []ports.Record) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.batches = append(s.batches, slices.Clone(batch))
	for _, r := range batch {
		v := string(r.Value)
		if s.seen[v] == 0 {
			s.order = append(s.order, v)
		}
		s.seen[v]++
	}
}

func (s *sink) handler(_ context.Context, batch []ports.Record) ([]ports.Rejection, error) {
	s.add(batch)
	return nil, nil
}

func (s *sink) distinct() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.seen)
}

func (s *sink) hasAll(values []string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, v := range values {
		if s.seen[v] == 0 {
			return false
		}
	}
	return true
}

func (s *sink) has(v string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.seen[v] > 0
}

// consume runs Consume in the background and returns the function that stops
// it and returns its error.
func consume(t *testing.T, s *kafka.Subscriber, group, topic string, h ports.BatchHandler) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.Consume(ctx, group, topic, h) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-done:
			case <-time.After(waitFor):
				err = errors.New("Consume did not return after its context ended")
			}
		})
		return err
	}
	t.Cleanup(func() { _ = stop() })
	return stop
}

// publish publishes value under key to topic and fails the test on error.
func publish(t *testing.T, p *kafka.Publisher, topic, key, value string) {
	t.Helper()
	require.NoError(t, p.Publish(t.Context(), topic, []byte(key), []byte(value)), "publish %s", value)
}

// publishKeys publishes records from, ..., from+n-1 of keys "key0", "key1",
// ... to topic, one goroutine per key (so each key's records go in order),
// and fails the test, on its own goroutine, if any publish failed.
func publishKeys(t *testing.T, p *kafka.Publisher, topic string, keys, from, n int) {
	t.Helper()
	errs := make(chan error, keys)
	var wg sync.WaitGroup
	for k := range keys {
		wg.Go(func() {
			key := "key" + strconv.Itoa(k)
			for i := from; i < from+n; i++ {
				if err := p.Publish(t.Context(), topic, []byte(key), []byte(value(key, i))); err != nil {
					errs <- fmt.Errorf("publish %s: %w", value(key, i), err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
}

// value names the i-th record of key k.
func value(k string, i int) string { return k + ":" + strconv.Itoa(i) }

// checkKeyOrder asserts that, per key, values were first handled in publish order.
func checkKeyOrder(t *testing.T, order []string) {
	t.Helper()
	last := map[string]int{}
	for _, v := range order {
		k, n, ok := strings.Cut(v, ":")
		require.True(t, ok, "value %q", v)
		i, err := strconv.Atoi(n)
		require.NoError(t, err)
		if prev, ok := last[k]; ok {
			assert.Greater(t, i, prev, "key %s: %s handled after %s:%d", k, v, k, prev)
		}
		last[k] = i
	}
}

func TestConsumeOrderPerKeyAndBatches(t *testing.T) {
	t.Parallel()
	cfg := env(t)
	cfg.BatchMaxRecords = 64
	const topic, keys, perKey = "orders", 20, 50
	require.NoError(t, kafka.EnsureTopics(t.Context(), cfg, map[string]int{topic: 4}))
	p := newPublisher(t, cfg)
	start := time.Now()
	publishKeys(t, p, topic, keys, 0, perKey)

	tests := []struct {
		name       string
		maxRecords int
		maxWait    time.Duration
		multi      bool // some batch must hold several records
	}{
		// With no wait, records fetched together still make one batch.
		{name: "batches of up to 64 records, no wait", maxRecords: 64, multi: true},
		{name: "batch wait", maxRecords: 64, maxWait: 5 * time.Millisecond, multi: true},
		{name: "batches of one record", maxRecords: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := cfg
			cfg.BatchMaxRecords, cfg.BatchMaxWait = tt.maxRecords, tt.maxWait
			checkConsumed(t, cfg, topic, keys*perKey, start, tt.multi)
		})
	}
}

// checkConsumed consumes topic with a new group until it saw n records, and
// checks order, batch sizes and record fields.
func checkConsumed(t *testing.T, cfg kafka.Config, topic string, n int, start time.Time, wantMulti bool) {
	t.Helper()
	sk := newSink()
	stop := consume(t, newSubscriber(t, cfg), "readers-"+random(4), topic, sk.handler)
	require.Eventually(t, func() bool { return sk.distinct() == n }, waitFor, 10*time.Millisecond)
	require.NoError(t, stop())

	checkKeyOrder(t, sk.order)
	multi := false
	keyPartition := map[string]int32{}
	for _, b := range sk.batches {
		assert.LessOrEqual(t, len(b), cfg.BatchMaxRecords, "batch size")
		multi = multi || len(b) > 1
		last := map[int32]int64{}
		for _, r := range b {
			assert.Equal(t, topic, r.Topic, "records carry the topic without prefix")
			k, _, _ := strings.Cut(string(r.Value), ":")
			assert.Equal(t, k, string(r.Key))
			if p, ok := keyPartition[k]; ok {
				assert.Equal(t, p, r.Partition, "key %s in two partitions", k)
			}
			keyPartition[k] = r.Partition
			if prev, ok := last[r.Partition]; ok {
				assert.Greater(t, r.Offset, prev, "offsets of partition %d within a batch", r.Partition)
			}
			last[r.Partition] = r.Offset
			assert.WithinRange(t, r.Time, start.Add(-time.Second), time.Now())
		}
	}
	if wantMulti {
		assert.True(t, multi, "records are handed over in batches")
	}
	parts := map[int32]bool{}
	for _, p := range keyPartition {
		parts[p] = true
	}
	assert.Greater(t, len(parts), 1, "keys spread over partitions")
}

func TestRetryKeepsBatch(t *testing.T) {
	t.Parallel()
	cfg := env(t)
	cfg.RetryBackoff = 20 * time.Millisecond
	const topic = "retry"
	require.NoError(t, kafka.EnsureTopics(t.Context(), cfg, map[string]int{topic: 1}))
	p := newPublisher(t, cfg)
	for i := range 10 {
		publish(t, p, topic, "k", value("k", i))
	}

	var mu sync.Mutex
	var attempts [][]int64
	sk := newSink()
	h := func(ctx context.Context, batch []ports.Record) ([]ports.Rejection, error) {
		mu.Lock()
		offsets := make([]int64, len(batch))
		for i, r := range batch {
			offsets[i] = r.Offset
		}
		attempts = append(attempts, offsets)
		n := len(attempts)
		mu.Unlock()
		if n <= 3 {
			return nil, errors.New("database unavailable")
		}
		return sk.handler(ctx, batch)
	}
	s := newSubscriber(t, cfg)
	stop := consume(t, s, "retriers", topic, h)
	require.Eventually(t, func() bool { return sk.distinct() == 10 }, waitFor, 10*time.Millisecond)
	require.NoError(t, stop())

	mu.Lock()
	require.GreaterOrEqual(t, len(attempts), 4)
	for i := 1; i < 4; i++ {
		assert.Equal(t, attempts[0], attempts[i], "attempt %d sees the same records", i+1)
	}
	mu.Unlock()
	var want []string
	for i := range 10 {
		want = append(want, value("k", i))
	}
	assert.Equal(t, want, sk.order, "nothing skipped, nothing reordered")
	for v, n := range sk.seen {
		assert.Equal(t, 1, n, "%s handled once", v)
	}

	// The offsets were committed: the group's next member starts after them.
	publish(t, p, topic, "k", "after")
	next := newSink()
	stop = consume(t, newSubscriber(t, cfg), "retriers", topic, next.handler)
	require.Eventually(t, func() bool { return next.has("after") }, waitFor, 10*time.Millisecond)
	require.NoError(t, stop())
	assert.Equal(t, []string{"after"}, next.order)
}

func TestDeadLetter(t *testing.T) {
	t.Parallel()
	cfg := env(t)
	const topic, group = "poison", "poison-readers"
	require.NoError(t, kafka.EnsureTopics(t.Context(), cfg, map[string]int{topic: 1}))
	p := newPublisher(t, cfg)
	var want []string
	for i := range 10 {
		v := value("k", i)
		if i == 3 {
			v = "poison"
		} else {
			want = append(want, v)
		}
		publish(t, p, topic, "k", v)
	}

	sk := newSink()
	var rejected []ports.Record
	var mu sync.Mutex
	h := func(ctx context.Context, batch []ports.Record) ([]ports.Rejection, error) {
		var ok []ports.Record
		var rej []ports.Rejection
		for _, r := range batch {
			if string(r.Value) == "poison" {
				rej = append(rej, ports.Rejection{Record: r, Reason: "cannot decode"})
				mu.Lock()
				rejected = append(rejected, r)
				mu.Unlock()
				continue
			}
			ok = append(ok, r)
		}
		sk.add(ok)
		return rej, nil
	}
	s := newSubscriber(t, cfg)
	stop := consume(t, s, group, topic, h)
	require.Eventually(t, func() bool { return sk.distinct() == 9 }, waitFor, 10*time.Millisecond)
	assert.Equal(t, want, sk.order, "the records after the poison one are processed, in order")
	require.Eventually(t, func() bool { return s.Lag()[group] == 0 }, waitFor, 10*time.Millisecond,
		"the partition's offset moves past the poison record")
	require.NoError(t, stop())
	mu.Lock()
	require.Len(t, rejected, 1)
	poison := rejected[0]
	mu.Unlock()

	// The dead-letter topic holds it, consumable through the port.
	dead := newSink()
	stop = consume(t, s, "dlq-readers", ports.DeadLetterTopic(topic), dead.handler)
	require.Eventually(t, func() bool { return dead.has("poison") }, waitFor, 10*time.Millisecond)
	require.NoError(t, stop())
	require.Len(t, dead.batches[0], 1)
	assert.Equal(t, "k", string(dead.batches[0][0].Key))
	assert.Equal(t, ports.DeadLetterTopic(topic), dead.batches[0][0].Topic)

	// With the reason and origin in headers.
	headers := readHeaders(t, cfg.Brokers, cfg.TopicPrefix+ports.DeadLetterTopic(topic))
	assert.Equal(t, "cannot decode", headers[kafka.HeaderReason])
	assert.Equal(t, cfg.TopicPrefix+topic, headers[kafka.HeaderTopic])
	assert.Equal(t, strconv.Itoa(int(poison.Partition)), headers[kafka.HeaderPartition])
	assert.Equal(t, strconv.FormatInt(poison.Offset, 10), headers[kafka.HeaderOffset])
	assert.Equal(t, cfg.TopicPrefix+group, headers[kafka.HeaderGroup])
	_, err := time.Parse(time.RFC3339Nano, headers[kafka.HeaderTime])
	assert.NoError(t, err, "time header")

	// Nothing is redelivered to the group.
	publish(t, p, topic, "k", "after")
	next := newSink()
	stop = consume(t, newSubscriber(t, cfg), group, topic, next.handler)
	require.Eventually(t, func() bool { return next.has("after") }, waitFor, 10*time.Millisecond)
	require.NoError(t, stop())
	assert.Equal(t, []string{"after"}, next.order)
}

// readHeaders reads the first record of topic with a plain consumer and
// returns its headers.
func readHeaders(t *testing.T, brokers, topic string) map[string]string {
	t.Helper()
	c, err := ckafka.NewConsumer(&ckafka.ConfigMap{
		"bootstrap.servers": brokers,
		"group.id":          "headers-" + random(8),
		"auto.offset.reset": "earliest",
		"log_level":         3,
	})
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.Subscribe(topic, nil))
	m, err := c.ReadMessage(waitFor)
	require.NoError(t, err)
	headers := map[string]string{}
	for _, h := range m.Headers {
		headers[h.Key] = string(h.Value)
	}
	return headers
}

// TestCrashBetweenCommitAndOffsetStore stops a member after its handler
// committed a batch to the "database" but before the offsets were stored: the
// next member gets the batch again, and the store's deduplication keeps one
// copy of each record.
func TestCrashBetweenCommitAndOffsetStore(t *testing.T) {
	t.Parallel()
	cfg := env(t)
	const topic, group, total = "crash", "crashers", 100
	require.NoError(t, kafka.EnsureTopics(t.Context(), cfg, map[string]int{topic: 2}))
	p := newPublisher(t, cfg)
	for i := range total {
		publish(t, p, topic, "k"+strconv.Itoa(i%7), value("k"+strconv.Itoa(i%7), i))
	}

	db := newSink() // dedup by value, as the message store does by id
	var redelivered int
	var mu sync.Mutex
	store := func(batch []ports.Record) {
		mu.Lock()
		defer mu.Unlock()
		for _, r := range batch {
			if db.has(string(r.Value)) {
				redelivered++
			}
		}
		db.add(batch)
	}

	ctx, crash := context.WithCancel(t.Context())
	var crashedWith int
	first := newSubscriber(t, cfg)
	err := first.Consume(ctx, group, topic, func(_ context.Context, batch []ports.Record) ([]ports.Rejection, error) {
		store(batch)
		crashedWith = len(batch)
		crash()
		return nil, errors.New("process died before storing offsets")
	})
	require.NoError(t, err, "Consume returns nil when its context ends")
	require.NoError(t, first.Close())
	require.Positive(t, crashedWith)

	stop := consume(t, newSubscriber(t, cfg), group, topic, func(_ context.Context, batch []ports.Record) ([]ports.Rejection, error) {
		store(batch)
		return nil, nil
	})
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return redelivered >= crashedWith && db.distinct() == total
	}, waitFor, 10*time.Millisecond, "the crashed batch is delivered again, and the rest too")
	require.NoError(t, stop())
	checkKeyOrder(t, db.order)
}

// TestRebalanceTwoMembers moves partitions between two members of a group
// while records flow, and checks that every record is handled, per-key order
// holds, and no partition is ever handled by both members at once.
func TestRebalanceTwoMembers(t *testing.T) {
	t.Parallel()
	cfg := env(t)
	const topic, group, partitions, keys = "rebalance", "rebalancers", 6, 30
	require.NoError(t, kafka.EnsureTopics(t.Context(), cfg, map[string]int{topic: partitions}))
	p := newPublisher(t, cfg)
	var sent int
	publishSome := func(n int) {
		t.Helper()
		publishKeys(t, p, topic, keys, sent, n)
		sent += n
	}

	type span struct {
		member     string
		partition  int32
		start, end time.Time
	}
	var mu sync.Mutex
	var spans []span
	db := newSink()
	handledBy := map[string]map[int32]bool{"a": {}, "b": {}}
	member := func(name string) ports.BatchHandler {
		return func(_ context.Context, batch []ports.Record) ([]ports.Rejection, error) {
			start := time.Now()
			time.Sleep(2 * time.Millisecond) // make overlaps visible
			end := time.Now()
			mu.Lock()
			seen := map[int32]bool{}
			for _, r := range batch {
				if !seen[r.Partition] {
					seen[r.Partition] = true
					spans = append(spans, span{name, r.Partition, start, end})
				}
				handledBy[name][r.Partition] = true
			}
			mu.Unlock()
			// Last: the test waits for the records, then reads handledBy.
			db.add(batch)
			return nil, nil
		}
	}
	handled := func(name string) int {
		mu.Lock()
		defer mu.Unlock()
		return len(handledBy[name])
	}

	publishSome(10)
	stopA := consume(t, newSubscriber(t, cfg), group, topic, member("a"))
	require.Eventually(t, func() bool { return db.distinct() == sent*keys }, waitFor, 10*time.Millisecond)
	require.Equal(t, partitions, handled("a"), "a alone owns every partition")

	stopB := consume(t, newSubscriber(t, cfg), group, topic, member("b"))
	deadline := time.Now().Add(waitFor)
	for handled("b") == 0 && time.Now().Before(deadline) {
		publishSome(2)
	}
	require.Positive(t, handled("b"), "b gets partitions when it joins")
	require.Eventually(t, func() bool { return db.distinct() == sent*keys }, waitFor, 10*time.Millisecond)

	require.NoError(t, stopA())
	publishSome(10)
	require.Eventually(t, func() bool { return db.distinct() == sent*keys }, waitFor, 10*time.Millisecond)
	require.Equal(t, partitions, handled("b"), "b owns every partition once a left")
	require.NoError(t, stopB())

	checkKeyOrder(t, db.order)
	mu.Lock()
	defer mu.Unlock()
	for i, x := range spans {
		for _, y := range spans[i+1:] {
			if x.member != y.member && x.partition == y.partition {
				overlap := x.start.Before(y.end) && y.start.Before(x.end)
				assert.False(t, overlap, "partition %d handled by a and b at once", x.partition)
			}
		}
	}
}

// TestRevokeDuringRetry gives a member that keeps failing a batch a partner:
// the partitions it loses leave its batch, and the partner handles them.
func TestRevokeDuringRetry(t *testing.T) {
	t.Parallel()
	cfg := env(t)
	cfg.RetryBackoff = 20 * time.Millisecond
	cfg.RetryMaxBackoff = 50 * time.Millisecond
	const topic, group = "revoke", "revokers"
	require.NoError(t, kafka.EnsureTopics(t.Context(), cfg, map[string]int{topic: 2}))
	p := newPublisher(t, cfg)
	for i := range 40 {
		k := "k" + strconv.Itoa(i%8)
		publish(t, p, topic, k, value(k, i))
	}

	var mu sync.Mutex
	var failing [][]int32 // partitions of each batch the failing member saw
	var afterJoin []int32
	bJoined := false
	a := func(_ context.Context, batch []ports.Record) ([]ports.Rejection, error) {
		parts := map[int32]bool{}
		for _, r := range batch {
			parts[r.Partition] = true
		}
		mu.Lock()
		ps := slices.Sorted(func(yield func(int32) bool) {
			for p := range parts {
				if !yield(p) {
					return
				}
			}
		})
		failing = append(failing, ps)
		if bJoined {
			afterJoin = ps
		}
		mu.Unlock()
		return nil, errors.New("always failing")
	}
	slow := cfg
	slow.BatchMaxWait = time.Second // the first batch holds both partitions
	stopA := consume(t, newSubscriber(t, slow), group, topic, a)
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(failing) > 0 && len(failing[len(failing)-1]) == 2
	}, waitFor, 10*time.Millisecond, "a retries a batch of both partitions")

	sk := newSink()
	bParts := map[int32]bool{}
	b := func(ctx context.Context, batch []ports.Record) ([]ports.Rejection, error) {
		mu.Lock()
		bJoined = true
		for _, r := range batch {
			bParts[r.Partition] = true
		}
		mu.Unlock()
		return sk.handler(ctx, batch)
	}
	stopB := consume(t, newSubscriber(t, cfg), group, topic, b)
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(afterJoin) > 0
	}, waitFor, 10*time.Millisecond, "a keeps retrying after b joined")
	mu.Lock()
	require.Len(t, bParts, 1, "b took one partition")
	var bPart int32
	for p := range bParts {
		bPart = p
	}
	assert.NotContains(t, afterJoin, bPart, "a's retried batch lost the partition b owns")
	assert.Len(t, afterJoin, 1)
	mu.Unlock()

	require.NoError(t, stopA())
	require.Eventually(t, func() bool { return sk.distinct() == 40 }, waitFor, 10*time.Millisecond,
		"b handles every record, a's failed batch included")
	require.NoError(t, stopB())
	checkKeyOrder(t, sk.order)
}

func TestLag(t *testing.T) {
	t.Parallel()
	cfg := env(t)
	const topic, group = "lag", "laggers"
	require.NoError(t, kafka.EnsureTopics(t.Context(), cfg, map[string]int{topic: 2}))
	p := newPublisher(t, cfg)
	for i := range 50 {
		publish(t, p, topic, "k"+strconv.Itoa(i), "v"+strconv.Itoa(i))
	}
	s := newSubscriber(t, cfg)
	assert.Empty(t, s.Lag(), "no members, no lag")
	release := make(chan struct{})
	started := make(chan struct{}, 1)
	sk := newSink()
	stop := consume(t, s, group, topic, func(ctx context.Context, batch []ports.Record) ([]ports.Rejection, error) {
		select {
		case started <- struct{}{}:
		default:
		}
		select {
		case <-release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		return sk.handler(ctx, batch)
	})
	select {
	case <-started:
	case <-time.After(waitFor):
		t.Fatal("handler not called")
	}
	require.Eventually(t, func() bool { return s.Lag()[group] == 50 }, waitFor, 10*time.Millisecond,
		"a batch in flight counts as lag")
	close(release)
	require.Eventually(t, func() bool { return s.Lag()[group] == 0 }, waitFor, 10*time.Millisecond)
	assert.Equal(t, 50, sk.distinct())
	require.NoError(t, stop())
	assert.Empty(t, s.Lag(), "a member that left is not counted")
}

// TestLagLeavesOutAStuckClient holds a member's lag read as a client stuck on
// a lock would: Lag still returns, without that member, and does not ask the
// stuck client again until its read returns.
func TestLagLeavesOutAStuckClient(t *testing.T) {
	cfg := env(t)
	const topic, group = "lag-stuck", "stuck-laggers"
	require.NoError(t, kafka.EnsureTopics(t.Context(), cfg, map[string]int{topic: 1}))
	p := newPublisher(t, cfg)
	publish(t, p, topic, "k", "v")
	s := newSubscriber(t, cfg)
	release := make(chan struct{})
	kafka.StallLag(s, 100*time.Millisecond, release)
	sk := newSink()
	stop := consume(t, s, group, topic, sk.handler)
	require.Eventually(t, func() bool { return sk.has("v") }, waitFor, 10*time.Millisecond)

	lagged := func() map[string]int64 {
		got := make(chan map[string]int64, 1)
		go func() { got <- s.Lag() }()
		select {
		case l := <-got:
			return l
		case <-time.After(waitFor):
			t.Fatal("Lag waited for a stuck client")
			return nil
		}
	}
	assert.Empty(t, lagged(), "the stuck member is left out")
	assert.Empty(t, lagged(), "and not asked again while its read is stuck")
	close(release)
	require.Eventually(t, func() bool { l := s.Lag(); _, ok := l[group]; return ok && l[group] == 0 }, waitFor, 10*time.Millisecond,
		"once the client answers, its lag counts again")
	require.NoError(t, stop())
}

// TestShutdownFinishesBatch ends Consume's context while a batch is in
// flight: the handler keeps its context, finishes, and the batch is committed.
func TestShutdownFinishesBatch(t *testing.T) {
	t.Parallel()
	cfg := env(t)
	const topic, group = "shutdown", "shutdowners"
	require.NoError(t, kafka.EnsureTopics(t.Context(), cfg, map[string]int{topic: 1}))
	p := newPublisher(t, cfg)
	for i := range 5 {
		publish(t, p, topic, "k", value("k", i))
	}
	ctx, cancel := context.WithCancel(t.Context())
	sk := newSink()
	var handlerErr error
	err := newSubscriber(t, cfg).Consume(ctx, group, topic, func(hctx context.Context, batch []ports.Record) ([]ports.Rejection, error) {
		cancel()
		time.Sleep(100 * time.Millisecond) // a transaction finishing
		handlerErr = hctx.Err()
		return sk.handler(hctx, batch)
	})
	require.NoError(t, err)
	require.NoError(t, handlerErr, "the handler's context outlives Consume's for HandlerGrace")
	require.Positive(t, sk.distinct())

	publish(t, p, topic, "k", "after")
	next := newSink()
	stop := consume(t, newSubscriber(t, cfg), group, topic, next.handler)
	require.Eventually(t, func() bool { return next.has("after") }, waitFor, 10*time.Millisecond)
	require.NoError(t, stop())
	for v := range sk.seen {
		assert.False(t, next.has(v), "%s was committed on shutdown, not redelivered", v)
	}
}

func TestConsumeErrors(t *testing.T) {
	t.Parallel()
	cfg := env(t)
	s := newSubscriber(t, cfg)
	closed, err := kafka.NewSubscriber(cfg)
	require.NoError(t, err)
	require.NoError(t, closed.Close())
	require.NoError(t, closed.Close(), "second Close")
	ok := newSink().handler
	tests := []struct {
		name         string
		s            *kafka.Subscriber
		group, topic string
		h            ports.BatchHandler
		kind         domain.Kind
	}{
		{name: "illegal topic", s: s, group: "g", topic: "a/b", h: ok, kind: domain.KindInvalid},
		{name: "empty topic", s: s, group: "g", topic: "", h: ok, kind: domain.KindInvalid},
		{name: "illegal group", s: s, group: "a b", topic: "t", h: ok, kind: domain.KindInvalid},
		{name: "empty group", s: s, group: "", topic: "t", h: ok, kind: domain.KindInvalid},
		{name: "no handler", s: s, group: "g", topic: "t", h: nil, kind: domain.KindInvalid},
		{name: "closed subscriber", s: closed, group: "g", topic: "t", h: ok, kind: domain.KindUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.s.Consume(t.Context(), tt.group, tt.topic, tt.h)
			require.Error(t, err)
			assert.Equal(t, tt.kind, domain.KindOf(err), "error: %v", err)
		})
	}
}

// TestSubscriberClose ends running Consume calls, which return nil.
func TestSubscriberClose(t *testing.T) {
	t.Parallel()
	cfg := env(t)
	const topic = "closing"
	require.NoError(t, kafka.EnsureTopics(t.Context(), cfg, map[string]int{topic: 1}))
	publish(t, newPublisher(t, cfg), topic, "k", "v")
	s, err := kafka.NewSubscriber(cfg)
	require.NoError(t, err)
	done := make(chan error, 2)
	sinks := []*sink{newSink(), newSink()}
	for i, sk := range sinks {
		go func() { done <- s.Consume(t.Context(), fmt.Sprint("g", i), topic, sk.handler) }()
	}
	// Both calls are running once each group handled the record.
	require.Eventually(t, func() bool { return sinks[0].distinct() == 1 && sinks[1].distinct() == 1 },
		30*time.Second, 10*time.Millisecond, "both groups consume")
	require.NoError(t, s.Close())
	assert.Empty(t, s.Lag(), "Close returned after every Consume call ended")
	for range 2 {
		select {
		case err := <-done:
			assert.NoError(t, err)
		case <-time.After(waitFor):
			t.Fatal("a Consume call did not return")
		}
	}
	require.NoError(t, s.Close())
}

// TestDeadLetterNotAcknowledged rejects a record while its dead-letter topic
// does not exist: the batch's offsets stay unstored (the partition waits)
// until the dead-letter produce is acknowledged, once the topic is created.
func TestDeadLetterNotAcknowledged(t *testing.T) {
	t.Parallel()
	cfg := env(t)
	cfg.TopicWait = 200 * time.Millisecond
	cfg.RetryBackoff = 50 * time.Millisecond
	cfg.RetryMaxBackoff = 200 * time.Millisecond
	var retries atomic.Int64 // failed dead-letter produces
	cfg.Logger = slog.New(handlerFunc(func(r slog.Record) {
		if r.Message == "kafka: dead-letter produce failed, retrying" {
			retries.Add(1)
		}
	}))
	const topic, group = "nodlq", "nodlq-readers"
	createTopic(t, cfg.Brokers, cfg.TopicPrefix+topic, 1) // without its dead-letter topic
	// The short TopicWait is for the dead-letter topic, which must not exist;
	// the test's own publisher waits as long as a node would for the new
	// topic's metadata to reach it.
	pcfg := cfg
	pcfg.TopicWait = kafka.DefaultTopicWait
	p := newPublisher(t, pcfg)
	publish(t, p, topic, "k", "poison")
	publish(t, p, topic, "k", value("k", 1))

	var mu sync.Mutex
	calls := 0
	h := func(_ context.Context, batch []ports.Record) ([]ports.Rejection, error) {
		mu.Lock()
		calls++
		mu.Unlock()
		var rej []ports.Rejection
		for _, r := range batch {
			if string(r.Value) == "poison" {
				rej = append(rej, ports.Rejection{Record: r, Reason: "bad"})
			}
		}
		return rej, nil
	}
	s := newSubscriber(t, cfg)
	stop := consume(t, s, group, topic, h)
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return calls > 0
	}, waitFor, 10*time.Millisecond)
	require.Eventually(t, func() bool { return retries.Load() >= 3 }, waitFor, 10*time.Millisecond,
		"several dead-letter produces failed")
	assert.Equal(t, int64(2), s.Lag()[group], "nothing is stored while the dead-letter record is not acknowledged")

	require.NoError(t, kafka.EnsureTopics(t.Context(), cfg, map[string]int{topic: 1}))
	require.Eventually(t, func() bool { return s.Lag()[group] == 0 }, waitFor, 10*time.Millisecond,
		"the offsets are stored once the dead-letter topic took the record")
	require.NoError(t, stop())
	mu.Lock()
	assert.Equal(t, 1, calls, "the handler is not called again: only the dead-letter produce is retried")
	mu.Unlock()

	dead := newSink()
	stop = consume(t, s, "dlq-readers", ports.DeadLetterTopic(topic), dead.handler)
	require.Eventually(t, func() bool { return dead.has("poison") }, waitFor, 10*time.Millisecond)
	require.NoError(t, stop())
}

// readValues reads n records of topic from its beginning with a plain
// consumer and returns their values, in partition order.
func readValues(t *testing.T, brokers, topic string, n int) []string {
	t.Helper()
	c, err := ckafka.NewConsumer(&ckafka.ConfigMap{
		"bootstrap.servers": brokers,
		"group.id":          "values-" + random(8),
		"auto.offset.reset": "earliest",
		"log_level":         3,
	})
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.Subscribe(topic, nil))
	var values []string
	for len(values) < n {
		m, err := c.ReadMessage(waitFor)
		require.NoError(t, err, "%d of %d records read", len(values), n)
		values = append(values, string(m.Value))
	}
	return values
}

// createTopic creates a topic with a plain admin client, bypassing EnsureTopics.
func createTopic(t *testing.T, brokers, topic string, partitions int) {
	t.Helper()
	admin, err := ckafka.NewAdminClient(&ckafka.ConfigMap{"bootstrap.servers": brokers, "log_level": 3})
	require.NoError(t, err)
	defer admin.Close()
	res, err := admin.CreateTopics(t.Context(), []ckafka.TopicSpecification{{Topic: topic, NumPartitions: partitions, ReplicationFactor: 1}})
	require.NoError(t, err)
	require.Len(t, res, 1)
	require.Equal(t, ckafka.ErrNoError, res[0].Error.Code(), "create %s: %v", topic, res[0].Error)
}
