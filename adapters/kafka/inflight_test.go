package kafka_test

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	ckafka "github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/adapters/kafka"
	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
)

// groupMembers returns how many members the broker's coordinator counts in
// group (as named on the wire).
func groupMembers(t *testing.T, brokers, group string) int {
	t.Helper()
	admin, err := ckafka.NewAdminClient(&ckafka.ConfigMap{"bootstrap.servers": brokers, "log_level": 3})
	require.NoError(t, err)
	defer admin.Close()
	res, err := admin.DescribeConsumerGroups(t.Context(), []string{group})
	if err != nil || len(res.ConsumerGroupDescriptions) != 1 {
		return 0
	}
	return len(res.ConsumerGroupDescriptions[0].Members)
}

// partitionsOf returns the partitions of recs, each once.
func partitionsOf(recs []ports.Record) map[int32]bool {
	parts := map[int32]bool{}
	for _, r := range recs {
		parts[r.Partition] = true
	}
	return parts
}

// TestRebalanceWhileABatchIsInFlight: a second member joins while the first
// member's handler holds a batch of both partitions. The partition the
// second member gets is handed over only once the batch is done and its
// offsets stored: no partition is handled by both at once, the new owner
// starts after the batch (nothing of it is handled twice), and every key's
// records are handled in order.
func TestRebalanceWhileABatchIsInFlight(t *testing.T) {
	t.Parallel()
	cfg := env(t)
	const topic, group, keys = "inflight", "inflight-readers", 8
	require.NoError(t, kafka.EnsureTopics(t.Context(), cfg, map[string]int{topic: 2}))
	p := newPublisher(t, cfg)
	publishKeys(t, p, topic, keys, 0, 5)

	var mu sync.Mutex
	var inFlight []ports.Record // the batch a held
	busy := map[int32]string{}  // partition -> member handling it now
	handledBy := map[string]map[int32]bool{"a": {}, "b": {}}
	db := newSink()
	started, release := make(chan struct{}), make(chan struct{})
	member := func(name string) ports.BatchHandler {
		return func(_ context.Context, batch []ports.Record) ([]ports.Rejection, error) {
			parts := partitionsOf(batch)
			mu.Lock()
			for n := range parts {
				if other, ok := busy[n]; ok {
					t.Errorf("partition %d handed to %s while %s handles it", n, name, other)
				}
				busy[n] = name
				handledBy[name][n] = true
			}
			first := name == "a" && inFlight == nil
			if first {
				inFlight = batch
			}
			mu.Unlock()
			if first {
				close(started)
				<-release
			}
			db.add(batch)
			mu.Lock()
			for n := range parts {
				delete(busy, n)
			}
			mu.Unlock()
			return nil, nil
		}
	}

	slow := cfg
	slow.BatchMaxWait = time.Second // the first batch holds both partitions
	stopA := consume(t, newSubscriber(t, slow), group, topic, member("a"))
	select {
	case <-started:
	case <-time.After(waitFor):
		t.Fatal("a's handler was not called")
	}
	mu.Lock()
	require.Len(t, partitionsOf(inFlight), 2, "a holds a batch of both partitions")
	mu.Unlock()

	stopB := consume(t, newSubscriber(t, cfg), group, topic, member("b"))
	require.Eventually(t, func() bool { return groupMembers(t, cfg.Brokers, cfg.TopicPrefix+group) == 2 },
		waitFor, 10*time.Millisecond, "b joined the group while a's batch is in flight")
	close(release)

	// Records keep coming until b owns a partition and both are drained.
	sent := 5
	deadline := time.Now().Add(waitFor)
	for {
		mu.Lock()
		bOwns := len(handledBy["b"]) > 0
		mu.Unlock()
		if bOwns || time.Now().After(deadline) {
			break
		}
		publishKeys(t, p, topic, keys, sent, 1)
		sent++
		time.Sleep(20 * time.Millisecond) // pacing the publishes, not a wait for an outcome
	}
	require.Eventually(t, func() bool { return db.distinct() == keys*sent }, waitFor, 10*time.Millisecond)
	require.NoError(t, stopA())
	require.NoError(t, stopB())

	mu.Lock()
	defer mu.Unlock()
	require.NotEmpty(t, handledBy["b"], "b got a partition")
	for _, r := range inFlight {
		assert.Equal(t, 1, db.seen[string(r.Value)], "%s, of the batch in flight during the rebalance, handled again", r.Value)
	}
	checkKeyOrder(t, db.order)
}

// TestShutdownPastTheGraceNeitherCommitsNorLoses: Consume's context ends while
// the handler runs, and the handler outlives HandlerGrace: its context ends
// too and it fails. The batch is not committed (the group's next member gets
// all of it) and nothing of it is lost.
func TestShutdownPastTheGraceNeitherCommitsNorLoses(t *testing.T) {
	t.Parallel()
	cfg := env(t)
	cfg.HandlerGrace = 50 * time.Millisecond
	const topic, group = "grace", "grace-readers"
	require.NoError(t, kafka.EnsureTopics(t.Context(), cfg, map[string]int{topic: 1}))
	p := newPublisher(t, cfg)
	var want []string
	for i := range 5 {
		want = append(want, value("k", i))
		publish(t, p, topic, "k", value("k", i))
	}

	ctx, cancel := context.WithCancel(t.Context())
	var held []string
	var handlerErr error
	err := newSubscriber(t, cfg).Consume(ctx, group, topic, func(hctx context.Context, batch []ports.Record) ([]ports.Rejection, error) {
		for _, r := range batch {
			held = append(held, string(r.Value))
		}
		cancel()
		<-hctx.Done() // a transaction slower than the grace
		handlerErr = hctx.Err()
		return nil, hctx.Err()
	})
	require.NoError(t, err, "Consume returns nil when its context ends")
	require.ErrorIs(t, handlerErr, context.Canceled, "the handler's context ended after the grace")
	require.NotEmpty(t, held)

	next := newSink()
	stop := consume(t, newSubscriber(t, cfg), group, topic, next.handler)
	require.Eventually(t, func() bool { return next.distinct() == len(want) }, waitFor, 10*time.Millisecond)
	require.NoError(t, stop())
	assert.Equal(t, want, next.order, "the unfinished batch is redelivered whole, in order")
}

// TestDeadLetterRetriesDuringARevocation: a member's batch succeeds but
// rejects records while the dead-letter topic cannot take them, and a second
// member joins while it retries. The retrying member serves the rebalance,
// drops the revoked partition's rejections and offsets, and finishes its own
// partition once the topic exists; the new owner handles the revoked
// partition again. Each rejected record ends in the dead-letter topic once,
// and every record is handled.
func TestDeadLetterRetriesDuringARevocation(t *testing.T) {
	t.Parallel()
	cfg := env(t)
	cfg.TopicWait = 200 * time.Millisecond // for the dead-letter topic, which does not exist yet
	cfg.RetryBackoff = 50 * time.Millisecond
	cfg.RetryMaxBackoff = 200 * time.Millisecond
	const topic, group, keys = "revoke-dlq", "revoke-dlq-readers", 8
	createTopic(t, cfg.Brokers, cfg.TopicPrefix+topic, 2) // without its dead-letter topic
	pcfg := cfg
	pcfg.TopicWait = kafka.DefaultTopicWait
	p := newPublisher(t, pcfg)
	var good, poison []string
	for k := range keys {
		key := "key" + strconv.Itoa(k)
		for i := range 3 {
			good = append(good, value(key, i))
			publish(t, p, topic, key, value(key, i))
		}
		poison = append(poison, key+":poison")
		publish(t, p, topic, key, key+":poison")
	}

	var mu sync.Mutex
	calls := map[string]int{}
	parts := map[string]map[int32]bool{"a": {}, "b": {}}
	db := newSink()
	member := func(name string) ports.BatchHandler {
		return func(_ context.Context, batch []ports.Record) ([]ports.Rejection, error) {
			var ok []ports.Record
			var rej []ports.Rejection
			for _, r := range batch {
				if strings.HasSuffix(string(r.Value), ":poison") {
					rej = append(rej, ports.Rejection{Record: r, Reason: "poison"})
					continue
				}
				ok = append(ok, r)
			}
			mu.Lock()
			calls[name]++
			for n := range partitionsOf(batch) {
				parts[name][n] = true
			}
			mu.Unlock()
			db.add(ok)
			return rej, nil
		}
	}
	slow := cfg
	slow.BatchMaxWait = time.Second // the first batch holds both partitions
	a := newSubscriber(t, slow)
	stopA := consume(t, a, group, topic, member("a"))
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(parts["a"]) == 2
	}, waitFor, 10*time.Millisecond, "a handled a batch of both partitions")

	b := newSubscriber(t, cfg)
	stopB := consume(t, b, group, topic, member("b"))
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(parts["b"]) > 0
	}, waitFor, 10*time.Millisecond, "a, retrying its dead letters, gave b a partition")

	require.NoError(t, kafka.EnsureTopics(t.Context(), cfg, map[string]int{topic: 2}))
	require.Eventually(t, func() bool {
		return db.distinct() == len(good) && a.Lag()[group] == 0 && b.Lag()[group] == 0
	}, waitFor, 10*time.Millisecond, "every record handled, every offset stored")
	require.NoError(t, stopA())
	require.NoError(t, stopB())

	mu.Lock()
	assert.Equal(t, 1, calls["a"], "a's handler is not called again: only its dead letters were retried")
	mu.Unlock()
	assert.Equal(t, int64(len(poison)), records(t, cfg.Brokers, cfg.TopicPrefix+ports.DeadLetterTopic(topic)),
		"each rejected record is dead-lettered once")
	dead := readValues(t, cfg.Brokers, cfg.TopicPrefix+ports.DeadLetterTopic(topic), len(poison))
	assert.ElementsMatch(t, poison, dead)
	checkKeyOrder(t, db.order)
}

// records returns how many records topic holds, from its watermarks.
func records(t *testing.T, brokers, topic string) int64 {
	t.Helper()
	c, err := ckafka.NewConsumer(&ckafka.ConfigMap{"bootstrap.servers": brokers, "group.id": "count-" + random(8), "log_level": 3})
	require.NoError(t, err)
	defer c.Close()
	md, err := c.GetMetadata(&topic, false, int(waitFor.Milliseconds()))
	require.NoError(t, err)
	var n int64
	for _, p := range md.Topics[topic].Partitions {
		low, high, err := c.QueryWatermarkOffsets(topic, p.ID, int(waitFor.Milliseconds()))
		require.NoError(t, err)
		n += high - low
	}
	return n
}

// TestFatalConsumerErrorEndsConsume: a member fenced by another under its
// static instance id fails for good: Consume returns KindUnavailable instead
// of polling a dead consumer, and the member that fenced it goes on with the
// partition.
func TestFatalConsumerErrorEndsConsume(t *testing.T) {
	t.Parallel()
	cfg := env(t)
	const topic, group = "fenced", "fenced-readers"
	require.NoError(t, kafka.EnsureTopics(t.Context(), cfg, map[string]int{topic: 1}))
	p := newPublisher(t, cfg)
	publish(t, p, topic, "k", "first")
	instance := "instance-" + random(6)

	first, err := kafka.NewSubscriber(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, first.Close()) })
	kafka.SetInstance(first, instance)
	firstSink := newSink()
	done := make(chan error, 1)
	go func() { done <- first.Consume(t.Context(), group, topic, firstSink.handler) }()
	require.Eventually(t, func() bool { return firstSink.has("first") && first.Lag()[group] == 0 }, waitFor, 10*time.Millisecond)

	second := newSubscriber(t, cfg)
	kafka.SetInstance(second, instance)
	secondSink := newSink()
	stop := consume(t, second, group, topic, secondSink.handler)
	select {
	case err := <-done:
		require.Error(t, err, "the fenced member's Consume fails")
		assert.Equal(t, domain.KindUnavailable, domain.KindOf(err), "error: %v", err)
	case <-time.After(waitFor):
		t.Fatal("the fenced member's Consume kept running")
	}

	publish(t, p, topic, "k", "second")
	require.Eventually(t, func() bool { return secondSink.has("second") }, waitFor, 10*time.Millisecond)
	require.NoError(t, stop())
}
