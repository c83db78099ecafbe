package portstest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/ports"
)

// logWait bounds every wait of the log suite. It is generous: a Kafka consumer
// group takes seconds to form and to rebalance.
const logWait = 90 * time.Second

// RunLog runs the contract of ports.Publisher and ports.Subscriber. newLog
// returns a publisher and a subscriber of one log on which topic and
// ports.DeadLetterTopic(topic) exist with the given number of partitions. The
// suite chooses fresh topic and group names for every subtest.
func RunLog(t *testing.T, newLog func(t *testing.T, topic string, partitions int) (ports.Publisher, ports.Subscriber)) {
	t.Run("records of one key are consumed in publish order, each at least once", func(t *testing.T) {
		const partitions, keys, perKey = 4, 8, 40
		topic := newTopic()
		pub, sub := newLog(t, topic, partitions)
		var seen recordLog
		var published []string
		var mu sync.Mutex
		publishKeys := func(from, to int) {
			var wg sync.WaitGroup
			for k := range keys {
				wg.Add(1)
				go func() { // keys in parallel, each key's records in order
					defer wg.Done()
					for i := from; i < to; i++ {
						v := value(k, i)
						if !assert.NoError(t, publish(t, pub, topic, keyOf(k), v)) {
							return
						}
						mu.Lock()
						published = append(published, v)
						mu.Unlock()
					}
				}()
			}
			wg.Wait()
			require.False(t, t.Failed(), "publishing failed")
		}

		publishKeys(0, perKey/2) // before the group exists: a new group starts at the beginning
		c := startConsumer(t, sub, "g-"+token(8), topic, seen.handler("m", nil))
		publishKeys(perKey/2, perKey)
		waitUntil(t, "every record consumed", func() bool { return seen.hasAll(published) }, c)
		c.stop(t)

		seen.checkRecords(t, topic, partitions)
		seen.checkKeyOrder(t)
		assert.Len(t, seen.values(), keys*perKey)
	})

	t.Run("each group sees every record", func(t *testing.T) {
		topic := newTopic()
		pub, sub := newLog(t, topic, 3)
		var g1, g2 recordLog
		var published []string
		for i := range 20 {
			published = append(published, value(i%5, i))
			require.NoError(t, publish(t, pub, topic, keyOf(i%5), published[i]))
		}
		c1 := startConsumer(t, sub, "g1-"+token(8), topic, g1.handler("g1", nil))
		c2 := startConsumer(t, sub, "g2-"+token(8), topic, g2.handler("g2", nil))
		for i := 20; i < 40; i++ {
			published = append(published, value(i%5, i))
			require.NoError(t, publish(t, pub, topic, keyOf(i%5), published[i]))
		}
		waitUntil(t, "both groups consumed everything", func() bool { return g1.hasAll(published) && g2.hasAll(published) }, c1, c2)
		c1.stop(t)
		c2.stop(t)
		g1.checkKeyOrder(t)
		g2.checkKeyOrder(t)
	})

	t.Run("a failed batch is delivered again and nothing is skipped", func(t *testing.T) {
		topic := newTopic()
		pub, sub := newLog(t, topic, 3)
		var published []string
		for i := range 30 {
			published = append(published, value(i%4, i))
			require.NoError(t, publish(t, pub, topic, keyOf(i%4), published[i]))
		}
		var ok, failed recordLog
		var mu sync.Mutex
		calls := 0
		h := func(ctx context.Context, batch []ports.Record) ([]ports.Rejection, error) {
			mu.Lock()
			calls++
			n := calls
			mu.Unlock()
			if n <= 2 { // the first two calls fail
				_, _ = failed.handler("m", nil)(ctx, batch)
				return nil, errors.New("handler failure")
			}
			return ok.handler("m", nil)(ctx, batch)
		}
		c := startConsumer(t, sub, "g-"+token(8), topic, h)
		waitUntil(t, "every record handled successfully", func() bool { return ok.hasAll(published) }, c)
		c.stop(t)
		require.NotEmpty(t, failed.values(), "the handler failed at least once")
		assert.Subset(t, ok.values(), failed.values(), "every record of a failed batch is delivered again")
		ok.checkKeyOrder(t)
	})

	t.Run("records a stopped member did not commit go to the next member", func(t *testing.T) {
		topic := newTopic()
		pub, sub := newLog(t, topic, 4)
		group := "g-" + token(8)
		var published []string
		publishRange := func(from, to int) {
			t.Helper()
			for i := from; i < to; i++ {
				published = append(published, value(i%8, i))
				require.NoError(t, publish(t, pub, topic, keyOf(i%8), value(i%8, i)))
			}
		}
		publishRange(0, 20)

		var committed, failed recordLog
		firstDone := make(chan struct{})
		var mu sync.Mutex
		calls := 0
		ctx1, cancel1 := context.WithCancel(t.Context())
		h1 := func(ctx context.Context, batch []ports.Record) ([]ports.Rejection, error) {
			mu.Lock()
			calls++
			n := calls
			mu.Unlock()
			if n == 1 {
				defer close(firstDone)
				return committed.handler("m1", nil)(ctx, batch)
			}
			// The member is stopped in the middle of this batch, which fails.
			_, _ = failed.handler("m1", nil)(ctx, batch)
			cancel1()
			return nil, errors.New("stopped mid-batch")
		}
		c1 := startConsumerCtx(t, ctx1, cancel1, sub, group, topic, h1)
		select {
		case <-firstDone:
		case err := <-c1.early():
			// The member may have taken a second batch of the first records
			// and stopped in it already: only a return before the first
			// batch is wrong.
			select {
			case <-firstDone:
			default:
				t.Fatalf("Consume returned before the first batch: %v", err)
			}
		case <-time.After(logWait):
			t.Fatal("no first batch")
		}
		publishRange(20, 40)
		c1.wait(t)
		require.NotEmpty(t, failed.values(), "the member failed a batch before stopping")

		var next recordLog
		c2 := startConsumer(t, sub, group, topic, next.handler("m2", nil))
		rest := slices.DeleteFunc(slices.Clone(published), func(v string) bool { return slices.Contains(committed.values(), v) })
		waitUntil(t, "the next member consumed everything not committed", func() bool { return next.hasAll(rest) }, c2)
		c2.stop(t)
		assert.Subset(t, next.values(), failed.values(), "the failed batch is delivered again")
		var all recordLog
		all.appendLog(&committed)
		all.appendLog(&next)
		all.checkKeyOrder(t)
	})

	t.Run("members of one group share the partitions and take over from a leaving one", func(t *testing.T) {
		const partitions, keys = 4, 16
		topic := newTopic()
		pub, sub := newLog(t, topic, partitions)
		group := "g-" + token(8)
		var seen recordLog
		own := &ownership{inflight: map[int32]string{}}
		var published []string
		for i := range keys {
			published = append(published, value(i, i))
			require.NoError(t, publish(t, pub, topic, keyOf(i), value(i, i)))
		}

		// m1 holds its first batch while m2 joins: m2 must not get a partition
		// of that batch until m1 is done with it.
		holding, release := make(chan struct{}), make(chan struct{})
		var once sync.Once
		h1 := seen.tracked("m1", own)
		m1 := startConsumer(t, sub, group, topic, func(ctx context.Context, batch []ports.Record) ([]ports.Rejection, error) {
			return h1(ctx, batch, func() {
				once.Do(func() {
					close(holding)
					<-release
				})
			})
		})
		select {
		case <-holding:
		case err := <-m1.early():
			t.Fatalf("Consume returned before the first batch: %v", err)
		case <-time.After(logWait):
			t.Fatal("no first batch")
		}
		m2 := startConsumer(t, sub, group, topic, seen.handler("m2", own))
		time.Sleep(time.Second) // the window in which m2 could wrongly take m1's partitions
		close(release)

		// Publish steadily until both members have handled records.
		stopPub := make(chan struct{})
		pubDone := make(chan error, 1)
		fresh := make(chan string, 100000)
		go func() {
			for i := 0; ; i++ {
				select {
				case <-stopPub:
					pubDone <- nil
					return
				case <-time.After(10 * time.Millisecond):
				}
				v := value(i%keys, 1000+i)
				if err := publish(t, pub, topic, keyOf(i%keys), v); err != nil {
					pubDone <- err
					return
				}
				fresh <- v
			}
		}()
		waitUntil(t, "both members handled records", func() bool {
			return len(seen.valuesOf("m1")) > 0 && len(seen.valuesOf("m2")) > 0
		}, m1, m2)
		close(stopPub)
		require.NoError(t, <-pubDone)
		close(fresh)
		for v := range fresh {
			published = append(published, v)
		}

		m1.stop(t)
		var last []string
		for i := range 2 * keys {
			v := value(i%keys, 100000+i)
			require.NoError(t, publish(t, pub, topic, keyOf(i%keys), v))
			last = append(last, v)
		}
		published = append(published, last...)
		waitUntil(t, "everything consumed", func() bool { return seen.hasAll(published) }, m2)
		m2.stop(t)
		assert.Subset(t, seen.valuesOf("m2"), last, "the remaining member takes every partition")
		own.mu.Lock()
		assert.Empty(t, own.violations, "a partition is consumed by one member at a time")
		own.mu.Unlock()
		seen.checkRecords(t, topic, partitions)
		seen.checkKeyOrder(t)
	})

	t.Run("a rejected record goes to the dead-letter topic and its partition keeps flowing", func(t *testing.T) {
		topic := newTopic()
		pub, sub := newLog(t, topic, 2)
		bad := "bad:" + token(8) + "\x00\xff binary is kept"
		var seen recordLog
		h := func(ctx context.Context, batch []ports.Record) ([]ports.Rejection, error) {
			_, _ = seen.handler("m", nil)(ctx, batch)
			var rej []ports.Rejection
			for _, r := range batch {
				if strings.HasPrefix(string(r.Value), "bad:") {
					rej = append(rej, ports.Rejection{Record: r, Reason: "cannot be processed"})
				}
			}
			return rej, nil
		}
		key := keyOf(1)
		require.NoError(t, publish(t, pub, topic, key, value(1, 1)))
		require.NoError(t, publish(t, pub, topic, key, bad))
		require.NoError(t, publish(t, pub, topic, key, value(1, 3)))
		c := startConsumer(t, sub, "g-"+token(8), topic, h)
		waitUntil(t, "the record after the rejected one is handled", func() bool { return seen.hasAll([]string{value(1, 3)}) }, c)
		require.NoError(t, publish(t, pub, topic, key, value(1, 4)))
		waitUntil(t, "a record published after the rejection is handled", func() bool { return seen.hasAll([]string{value(1, 4)}) }, c)
		c.stop(t)
		seen.checkKeyOrder(t)

		var dead recordLog
		dlq := ports.DeadLetterTopic(topic)
		d := startConsumer(t, sub, "dlq-"+token(8), dlq, dead.handler("d", nil))
		waitUntil(t, "the rejected record is on the dead-letter topic", func() bool { return dead.hasAll([]string{bad}) }, d)
		d.stop(t)
		for _, r := range dead.records() {
			assert.Equal(t, dlq, r.Topic)
			assert.Equal(t, bad, string(r.Value), "only the rejected record, with its value intact")
		}
	})
}

func newTopic() string { return "portstest-" + token(10) }

func keyOf(k int) []byte { return []byte(fmt.Sprintf("key-%02d", k)) }

// value is the i-th record of key k; values sort by i within a key.
func value(k, i int) string { return fmt.Sprintf("key-%02d/%06d", k, i) }

func publish(t *testing.T, pub ports.Publisher, topic string, key []byte, value string) error {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	return pub.Publish(ctx, topic, key, []byte(value))
}

// seenRecord is one record as a handler saw it.
type seenRecord struct {
	member string
	rec    ports.Record
}

// recordLog collects what handlers saw, in the order they saw it.
type recordLog struct {
	mu   sync.Mutex
	seen []seenRecord
	set  map[string]bool
}

// ownership detects two members handling the same partition at once.
type ownership struct {
	mu         sync.Mutex
	inflight   map[int32]string
	violations []string
}

// handler returns a handler that records batches under member's name. With
// own, it also reports two members handling one partition at once; work, when
// given, runs while the batch is in flight.
func (l *recordLog) handler(member string, own *ownership) ports.BatchHandler {
	h := l.tracked(member, own)
	return func(ctx context.Context, batch []ports.Record) ([]ports.Rejection, error) { return h(ctx, batch, nil) }
}

func (l *recordLog) tracked(member string, own *ownership) func(ctx context.Context, batch []ports.Record, work func()) ([]ports.Rejection, error) {
	return func(ctx context.Context, batch []ports.Record, work func()) ([]ports.Rejection, error) {
		if own != nil {
			parts := map[int32]bool{}
			for _, r := range batch {
				parts[r.Partition] = true
			}
			own.mu.Lock()
			for p := range parts {
				if other := own.inflight[p]; other != "" && other != member {
					own.violations = append(own.violations, fmt.Sprintf("partition %d handled by %s and %s at once", p, other, member))
				}
				own.inflight[p] = member
			}
			own.mu.Unlock()
			defer func() {
				own.mu.Lock()
				for p := range parts {
					if own.inflight[p] == member {
						delete(own.inflight, p)
					}
				}
				own.mu.Unlock()
			}()
		}
		l.mu.Lock()
		if l.set == nil {
			l.set = map[string]bool{}
		}
		for _, r := range batch {
			l.seen = append(l.seen, seenRecord{member, r})
			l.set[string(r.Value)] = true
		}
		l.mu.Unlock()
		if work != nil {
			work()
		}
		return nil, nil
	}
}

func (l *recordLog) appendLog(o *recordLog) {
	o.mu.Lock()
	seen := slices.Clone(o.seen)
	o.mu.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.set == nil {
		l.set = map[string]bool{}
	}
	for _, s := range seen {
		l.seen = append(l.seen, s)
		l.set[string(s.rec.Value)] = true
	}
}

func (l *recordLog) hasAll(values []string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, v := range values {
		if !l.set[v] {
			return false
		}
	}
	return true
}

func (l *recordLog) records() []ports.Record {
	l.mu.Lock()
	defer l.mu.Unlock()
	rs := make([]ports.Record, len(l.seen))
	for i, s := range l.seen {
		rs[i] = s.rec
	}
	return rs
}

// values returns the distinct values seen, in first-seen order.
func (l *recordLog) values() []string { return l.valuesOf("") }

// valuesOf returns the distinct values member saw ("" for any member).
func (l *recordLog) valuesOf(member string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var vs []string
	dup := map[string]bool{}
	for _, s := range l.seen {
		v := string(s.rec.Value)
		if (member == "" || s.member == member) && !dup[v] {
			dup[v] = true
			vs = append(vs, v)
		}
	}
	return vs
}

// checkKeyOrder checks that each key's values, at their first delivery, come in
// publish order. Redelivery replays a suffix, so first deliveries stay ordered.
func (l *recordLog) checkKeyOrder(t *testing.T) {
	t.Helper()
	byKey := map[string][]string{}
	for _, v := range l.values() {
		k, _, _ := strings.Cut(v, "/")
		byKey[k] = append(byKey[k], v)
	}
	for k, vs := range byKey {
		assert.True(t, slices.IsSorted(vs), "key %s consumed out of publish order: %v", k, vs)
	}
}

// checkRecords checks the fields of every record seen: topic, partition in
// range, one partition per key, offsets growing within a partition.
func (l *recordLog) checkRecords(t *testing.T, topic string, partitions int) {
	t.Helper()
	keyPart := map[string]int32{}
	lastOffset := map[int32]int64{}
	first := map[string]bool{}
	for _, r := range l.records() {
		assert.Equal(t, topic, r.Topic)
		assert.True(t, r.Partition >= 0 && int(r.Partition) < partitions, "partition %d of %d", r.Partition, partitions)
		k, _, _ := strings.Cut(string(r.Value), "/")
		assert.Equal(t, k, string(r.Key), "key kept")
		if p, ok := keyPart[k]; ok {
			assert.Equal(t, p, r.Partition, "key %s in one partition", k)
		}
		keyPart[k] = r.Partition
		if first[string(r.Value)] {
			continue // a redelivery
		}
		first[string(r.Value)] = true
		if last, ok := lastOffset[r.Partition]; ok {
			assert.Greater(t, r.Offset, last, "offsets grow within partition %d", r.Partition)
		}
		lastOffset[r.Partition] = r.Offset
	}
}

// consumer is one running Consume call.
type consumer struct {
	cancel context.CancelFunc
	done   chan struct{}
	err    error
	once   sync.Once
}

func startConsumer(t *testing.T, sub ports.Subscriber, group, topic string, h ports.BatchHandler) *consumer {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	return startConsumerCtx(t, ctx, cancel, sub, group, topic, h)
}

func startConsumerCtx(t *testing.T, ctx context.Context, cancel context.CancelFunc, sub ports.Subscriber, group, topic string, h ports.BatchHandler) *consumer {
	t.Helper()
	c := &consumer{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(c.done)
		c.err = sub.Consume(ctx, group, topic, h)
	}()
	t.Cleanup(func() {
		c.cancel()
		select {
		case <-c.done:
		case <-time.After(logWait):
			t.Errorf("Consume of group %s did not return after its context ended", group)
		}
	})
	return c
}

// early returns a channel that yields Consume's error if it has returned.
func (c *consumer) early() <-chan error {
	ch := make(chan error, 1)
	go func() {
		<-c.done
		ch <- c.err
	}()
	return ch
}

func (c *consumer) exited() (bool, error) {
	select {
	case <-c.done:
		return true, c.err
	default:
		return false, nil
	}
}

// stop ends the consumer and checks that Consume returned nil.
func (c *consumer) stop(t *testing.T) {
	t.Helper()
	c.cancel()
	c.wait(t)
}

// wait waits for Consume to return and checks that it returned nil.
func (c *consumer) wait(t *testing.T) {
	t.Helper()
	select {
	case <-c.done:
	case <-time.After(logWait):
		t.Fatal("Consume did not return after its context ended")
	}
	require.NoError(t, c.err, "Consume returns nil when its context ends")
}

// waitUntil polls cond until it holds, failing after logWait or as soon as one
// of the consumers has returned.
func waitUntil(t *testing.T, what string, cond func() bool, cs ...*consumer) {
	t.Helper()
	deadline := time.Now().Add(logWait)
	for !cond() {
		for _, c := range cs {
			if done, err := c.exited(); done {
				t.Fatalf("waiting until %s: Consume returned early: %v", what, err)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting until %s", logWait, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
