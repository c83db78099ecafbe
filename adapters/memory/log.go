package memory

import (
	"cmp"
	"context"
	"hash/fnv"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
)

// LogConfig configures a Log. Zero fields take their defaults.
type LogConfig struct {
	// Topics maps each topic to create to its number of partitions. The
	// default is the architecture guide's: chat-messages 10, typing-indicators
	// 5, read-receipts 5, friend-events 1. Each topic's dead-letter topic is
	// created beside it with as many partitions.
	Topics map[string]int
	// MaxBatch is the most records handed to a handler at once. Default 500.
	MaxBatch int
	// MaxRecordBytes bounds a record's key plus value; a larger record is
	// refused with KindTooLarge. Default 1 MiB, Kafka's default.
	MaxRecordBytes int
	// MinBackoff is the wait before a failed batch is retried; it doubles with
	// each failure in a row up to MaxBackoff. Defaults 50ms and 5s.
	MinBackoff, MaxBackoff time.Duration
	// Retention is how long a record is kept once every consumer group that
	// has joined its topic has committed it. A group that joins later starts
	// from the oldest record kept, as with Kafka's retention. Records of a topic
	// no group consumes are kept, and a group keeps its offsets (and so holds
	// records back) for the life of the Log, even with no member left.
	// Default 1 minute; negative keeps every record.
	Retention time.Duration
	// Logger receives handler failures. Nil discards.
	Logger *slog.Logger
}

// Log is an in-process message log with Kafka's semantics where the messenger
// relies on them: topics of N partitions, records placed by key hash, order
// within a partition, consumer groups whose live members share the partitions
// (rebalanced as members come and go, one member per partition at a time),
// offsets committed per group and partition only after a handler succeeded,
// redelivery of failed batches with backoff, and rejected records copied to
// the dead-letter topic. It implements ports.Publisher and ports.Subscriber.
type Log struct {
	cfg LogConfig
	log *slog.Logger

	mu     sync.RWMutex
	topics map[string]*topic
	closed bool
	wg     sync.WaitGroup // running Consume calls

	ctx    context.Context // ends at Close
	cancel context.CancelFunc
}

var (
	_ ports.Publisher  = (*Log)(nil)
	_ ports.Subscriber = (*Log)(nil)
)

// GuideTopics are the topics of the architecture guide and their partitions
// (ports.GuideTopics), a log's default.
func GuideTopics() map[string]int { return ports.GuideTopics() }

// NewLog returns a log with the configured topics.
// Errors: KindInvalid for a topic with fewer than one partition or a negative limit.
func NewLog(cfg LogConfig) (*Log, error) {
	if cfg.Topics == nil {
		cfg.Topics = GuideTopics()
	}
	if cfg.MaxBatch < 0 || cfg.MaxRecordBytes < 0 || cfg.MinBackoff < 0 || cfg.MaxBackoff < 0 {
		return nil, domain.Errorf(domain.KindInvalid, "log limits must not be negative")
	}
	cfg.MaxBatch = cmp.Or(cfg.MaxBatch, 500)
	cfg.MaxRecordBytes = cmp.Or(cfg.MaxRecordBytes, 1<<20)
	cfg.MinBackoff = cmp.Or(cfg.MinBackoff, 50*time.Millisecond)
	cfg.MaxBackoff = cmp.Or(cfg.MaxBackoff, 5*time.Second)
	cfg.MaxBackoff = max(cfg.MaxBackoff, cfg.MinBackoff)
	cfg.Retention = cmp.Or(cfg.Retention, time.Minute)
	l := &Log{cfg: cfg, log: cfg.Logger, topics: map[string]*topic{}}
	if l.log == nil {
		l.log = slog.New(slog.DiscardHandler)
	}
	l.ctx, l.cancel = context.WithCancel(context.Background())
	for name, n := range cfg.Topics {
		if err := l.CreateTopic(name, n); err != nil {
			return nil, err
		}
	}
	return l, nil
}

// CreateTopic creates topic with partitions partitions, and its dead-letter
// topic with as many, unless topic is itself a dead-letter topic. Creating an
// existing topic with the same partitions does nothing.
// Errors: KindInvalid (no name, partitions < 1), KindConflict (exists with
// another number of partitions).
func (l *Log) CreateTopic(name string, partitions int) error {
	if name == "" || partitions < 1 {
		return domain.Errorf(domain.KindInvalid, "a topic needs a name and at least one partition")
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.createLocked(name, partitions); err != nil {
		return err
	}
	if !strings.HasSuffix(name, ports.DeadLetterTopic("")) {
		return l.createLocked(ports.DeadLetterTopic(name), partitions)
	}
	return nil
}

func (l *Log) createLocked(name string, partitions int) error {
	if t, ok := l.topics[name]; ok {
		if len(t.parts) != partitions {
			return domain.Errorf(domain.KindConflict, "topic %s exists with %d partitions", name, len(t.parts))
		}
		return nil
	}
	t := &topic{name: name, parts: make([]partition, partitions), groups: map[string]*group{}, wake: make(chan struct{})}
	l.topics[name] = t
	return nil
}

func (l *Log) topic(name string) (*topic, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed {
		return nil, domain.Errorf(domain.KindUnavailable, "log closed")
	}
	t, ok := l.topics[name]
	if !ok {
		return nil, domain.Errorf(domain.KindInvalid, "unknown topic %q", name)
	}
	return t, nil
}

// Publish appends value under key to topic. Records with the same key go to
// the same partition (FNV-1a hash of the key); records without a key are spread
// round-robin. The log keeps its own copies of key and value.
// Errors: KindInvalid (unknown topic), KindTooLarge, KindUnavailable (closed,
// or ctx ended before the call).
func (l *Log) Publish(ctx context.Context, topicName string, key, value []byte) error {
	if err := ctx.Err(); err != nil {
		return domain.Wrap(domain.KindUnavailable, err, "publish cancelled")
	}
	t, err := l.topic(topicName)
	if err != nil {
		return err
	}
	if len(key)+len(value) > l.cfg.MaxRecordBytes {
		return domain.Errorf(domain.KindTooLarge, "record exceeds %d bytes", l.cfg.MaxRecordBytes)
	}
	t.append(t.partitionOf(key), key, value, time.Now())
	return nil
}

// Consume joins group on topic and feeds batches to h until ctx ends or the
// log is closed, then returns nil. A batch holds up to MaxBatch records of the
// partitions assigned to this member, each partition's records in order. When
// h fails, nothing of the batch is committed and the same records come again
// after a backoff. Rejected records are copied to the dead-letter topic before
// the batch is committed.
// Errors: KindInvalid (unknown topic, nil handler), KindUnavailable (closed).
func (l *Log) Consume(ctx context.Context, groupName, topicName string, h ports.BatchHandler) error {
	if h == nil || groupName == "" {
		return domain.Errorf(domain.KindInvalid, "consume needs a group and a handler")
	}
	t, err := l.topic(topicName)
	if err != nil {
		return err
	}
	ctx, done, err := l.running(ctx)
	if err != nil {
		return err
	}
	defer done()

	m := t.join(groupName)
	defer t.leave(m)
	var backoff time.Duration
	for ctx.Err() == nil {
		batch, wake := t.fetch(m, l.cfg.MaxBatch)
		if len(batch) == 0 {
			select {
			case <-ctx.Done():
			case <-wake:
			}
			continue
		}
		rejected, err := h(ctx, batch)
		if err == nil {
			l.deadLetter(t, rejected)
			t.commit(m, batch, l.cfg.Retention)
			backoff = 0
			continue
		}
		t.release(m, batch)
		if ctx.Err() != nil {
			break
		}
		backoff = min(max(2*backoff, l.cfg.MinBackoff), l.cfg.MaxBackoff)
		l.log.Warn("batch handler failed; retrying", "topic", t.name, "group", groupName, "records", len(batch), "backoff", backoff, "error", err)
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
	}
	return nil
}

// running counts a Consume call until done is called, which Close waits for,
// and returns its context, which Close ends too.
// Errors: KindUnavailable once the log is closed.
func (l *Log) running(ctx context.Context) (_ context.Context, done func(), _ error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, nil, domain.Errorf(domain.KindUnavailable, "log closed")
	}
	l.wg.Add(1)
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(l.ctx, cancel)
	return ctx, func() {
		stop()
		cancel()
		l.wg.Done()
	}, nil
}

// deadLetter appends rejected records to the dead-letter topic of t, creating
// it when missing (only a dead-letter topic's own rejections can miss it).
func (l *Log) deadLetter(t *topic, rejected []ports.Rejection) {
	if len(rejected) == 0 {
		return
	}
	name := ports.DeadLetterTopic(t.name)
	l.mu.Lock()
	_ = l.createLocked(name, len(t.parts))
	dlq := l.topics[name]
	l.mu.Unlock()
	now := time.Now()
	for _, r := range rejected {
		l.log.Warn("record moved to the dead-letter topic", "topic", t.name, "partition", r.Record.Partition, "offset", r.Record.Offset, "reason", r.Reason)
		p := r.Record.Partition
		if int(p) >= len(dlq.parts) || p < 0 {
			p = dlq.partitionOf(r.Record.Key)
		}
		dlq.append(p, r.Record.Key, r.Record.Value, now)
	}
}

// Close stops every Consume call, waits for them to return (after their
// in-flight batch) and refuses further use. It can be called more than once.
func (l *Log) Close() error {
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
	l.cancel()
	l.wg.Wait()
	return nil
}

// topic is one topic: its partitions and the groups consuming it, all guarded
// by mu. wake is closed (and replaced) whenever anything changes that a waiting
// consumer may care about: a new record, a commit, a member joining or leaving.
type topic struct {
	name string

	mu     sync.Mutex
	parts  []partition
	groups map[string]*group
	wake   chan struct{}
	rr     atomic.Uint32 // round-robin partition for records without a key
}

// partition holds the records kept: records[i] has offset base+i.
type partition struct {
	base    int64
	records []ports.Record
}

type group struct {
	name    string
	members []*member // in join order
	parts   []groupPartition
	nextID  int
}

// groupPartition is a group's state of one partition.
type groupPartition struct {
	next  int64   // committed offset: the next record to hand out
	owner *member // assigned member, nil when the group has none
	busy  *member // member handling a batch of this partition, nil when none
}

type member struct {
	id     int
	group  *group
	cursor int // partition to look at first, for fairness between partitions
}

func (t *topic) partitionOf(key []byte) int32 {
	n := uint32(len(t.parts))
	if len(key) == 0 {
		return int32(t.rr.Add(1) % n)
	}
	h := fnv.New32a()
	h.Write(key)
	return int32(h.Sum32() % n)
}

func (t *topic) append(p int32, key, value []byte, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	part := &t.parts[p]
	part.records = append(part.records, ports.Record{
		Topic:     t.name,
		Partition: p,
		Offset:    part.base + int64(len(part.records)),
		Key:       clone(key),
		Value:     clone(value),
		Time:      now,
	})
	t.notifyLocked()
}

// clone copies b, keeping nil as nil.
func clone(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte{}, b...)
}

func (t *topic) notifyLocked() {
	close(t.wake)
	t.wake = make(chan struct{})
}

// join adds a member to the group, creating the group (at the start of every
// partition) on first use, and rebalances.
func (t *topic) join(name string) *member {
	t.mu.Lock()
	defer t.mu.Unlock()
	g, ok := t.groups[name]
	if !ok {
		g = &group{name: name, parts: make([]groupPartition, len(t.parts))}
		for i := range g.parts {
			g.parts[i].next = t.parts[i].base
		}
		t.groups[name] = g
	}
	g.nextID++
	m := &member{id: g.nextID, group: g}
	g.members = append(g.members, m)
	g.rebalance()
	t.notifyLocked()
	return m
}

// leave removes m from its group and rebalances. The group and its offsets stay.
func (t *topic) leave(m *member) {
	t.mu.Lock()
	defer t.mu.Unlock()
	g := m.group
	for i, o := range g.members {
		if o == m {
			g.members = append(g.members[:i], g.members[i+1:]...)
			break
		}
	}
	for i := range g.parts {
		if g.parts[i].busy == m {
			g.parts[i].busy = nil
		}
	}
	g.rebalance()
	t.notifyLocked()
}

// rebalance spreads the partitions over the live members round-robin. A
// partition that changes hands while its old owner handles a batch stays busy
// until that batch ends, so that one member at a time consumes it.
func (g *group) rebalance() {
	for i := range g.parts {
		g.parts[i].owner = nil
		if len(g.members) > 0 {
			g.parts[i].owner = g.members[i%len(g.members)]
		}
	}
}

// fetch takes up to limit records from the idle partitions assigned to m, from
// their committed offsets, and marks those partitions busy. With nothing to
// take it returns the channel to wait on.
func (t *topic) fetch(m *member, limit int) ([]ports.Record, <-chan struct{}) {
	t.mu.Lock()
	defer t.mu.Unlock()
	g := m.group
	var batch []ports.Record
	n := len(t.parts)
	for i := 0; i < n && len(batch) < limit; i++ {
		p := (m.cursor + i) % n
		gp := &g.parts[p]
		if gp.owner != m || gp.busy != nil {
			continue
		}
		part := &t.parts[p]
		gp.next = max(gp.next, part.base)
		from := int(gp.next - part.base)
		if from >= len(part.records) {
			continue
		}
		to := min(len(part.records), from+limit-len(batch))
		batch = append(batch, part.records[from:to]...)
		gp.busy = m
		m.cursor = p + 1
	}
	return batch, t.wake
}

// commit moves the group's offsets past batch, frees its partitions and drops
// records every group has committed and that are older than retention.
func (t *topic) commit(m *member, batch []ports.Record, retention time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	g := m.group
	done := make([]bool, len(t.parts))
	for _, r := range batch {
		if gp := &g.parts[r.Partition]; gp.busy == m {
			gp.next = max(gp.next, r.Offset+1)
			done[r.Partition] = true
		}
	}
	cutoff := time.Now().Add(-retention)
	for p, ok := range done {
		if !ok {
			continue
		}
		g.parts[p].busy = nil
		if retention >= 0 {
			t.trimLocked(int32(p), cutoff)
		}
	}
	t.notifyLocked()
}

// release frees the partitions of a failed batch without committing it.
func (t *topic) release(m *member, batch []ports.Record) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, r := range batch {
		if gp := &m.group.parts[r.Partition]; gp.busy == m {
			gp.busy = nil
		}
	}
	t.notifyLocked()
}

// trimLocked drops the records of partition p that every group has committed
// and that were appended before cutoff.
func (t *topic) trimLocked(p int32, cutoff time.Time) {
	part := &t.parts[p]
	committed := int64(-1)
	for _, g := range t.groups {
		if committed < 0 || g.parts[p].next < committed {
			committed = g.parts[p].next
		}
	}
	k := 0
	for k < len(part.records) && part.records[k].Offset < committed && part.records[k].Time.Before(cutoff) {
		k++
	}
	if k == 0 {
		return
	}
	clear(part.records[:k]) // let the keys and values go
	part.records = part.records[k:]
	part.base += int64(k)
}
