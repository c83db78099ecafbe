package kafka

import (
	"cmp"
	"context"
	"strconv"
	"sync"
	"time"

	ckafka "github.com/confluentinc/confluent-kafka-go/v2/kafka"

	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
)

var _ ports.Subscriber = (*Subscriber)(nil)

// Headers of a record in a dead-letter topic, beside the original key and value.
const (
	HeaderReason    = "dlq-reason"    // Rejection.Reason
	HeaderTopic     = "dlq-topic"     // source topic, as named on the wire
	HeaderPartition = "dlq-partition" // source partition, decimal
	HeaderOffset    = "dlq-offset"    // source offset, decimal
	HeaderGroup     = "dlq-group"     // consumer group that rejected it, as on the wire
	HeaderTime      = "dlq-time"      // when it was rejected, RFC 3339
)

// Subscriber consumes Kafka topics as a member of consumer groups. It
// implements ports.Subscriber: each Consume call is one group member with its
// own librdkafka consumer. Safe for concurrent use; close it with Close.
type Subscriber struct {
	cfg  Config
	logs *logPump

	ctx    context.Context // ends on Close
	cancel context.CancelFunc

	mu      sync.Mutex
	closed  bool
	members map[*member]struct{}
	dlq     *Publisher // created on first rejection
	wg      sync.WaitGroup
	once    sync.Once
}

// NewSubscriber returns a Subscriber for cfg. Nothing connects before Consume.
func NewSubscriber(cfg Config) (*Subscriber, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Subscriber{
		cfg:     cfg,
		logs:    startLogPump(cfg.Logger),
		ctx:     ctx,
		cancel:  cancel,
		members: make(map[*member]struct{}),
	}, nil
}

// Consume joins group on topic and feeds batches to h until ctx ends; see
// ports.Subscriber. Batches hold up to BatchMaxRecords records, collected for
// at most BatchMaxWait after the first. When h fails, the same batch (less the
// records of partitions revoked meanwhile) is retried with exponential backoff
// between RetryBackoff and RetryMaxBackoff. Rejected records are produced to
// the dead-letter topic before the batch's offsets are stored. Consume returns
// nil when ctx ends or the Subscriber is closed, after the batch in flight and
// after committing the stored offsets and leaving the group (with the brokers
// unreachable, that takes about SessionTimeout); KindInvalid for an illegal
// group or topic name; KindUnavailable when the consumer cannot be created or
// fails for good.
func (s *Subscriber) Consume(ctx context.Context, group, topic string, h ports.BatchHandler) error {
	if err := s.cfg.checkTopic(topic); err != nil {
		return err
	}
	if group == "" || !validName(s.cfg.TopicPrefix+group) {
		return domain.Errorf(domain.KindInvalid, "kafka: invalid consumer group %q", group)
	}
	if h == nil {
		return domain.Errorf(domain.KindInvalid, "kafka: nil handler")
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return domain.Errorf(domain.KindUnavailable, "kafka: subscriber closed")
	}
	s.wg.Add(1)
	s.mu.Unlock()
	defer s.wg.Done()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(s.ctx, cancel)
	defer stop()

	m, err := s.newMember(group, topic, h)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.members[m] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.members, m)
		s.mu.Unlock()
	}()
	return m.run(ctx)
}

// deadLetters returns the producer of dead-letter records, creating it once.
func (s *Subscriber) deadLetters() (*Publisher, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dlq != nil {
		return s.dlq, nil
	}
	cfg := s.cfg
	cfg.Linger = 0 // rejections are rare; send each at once
	p, err := NewPublisher(cfg)
	if err != nil {
		return nil, err
	}
	s.dlq = p
	return p, nil
}

// Lag returns, per consumer group (as named to Consume), how many records of
// the partitions this process's members own are not processed yet: the sum
// over those partitions of the high watermark minus the stored offset (or,
// for a partition with nothing stored since it was assigned, the first offset
// fetched, or the group's committed offset). Watermarks come from the latest
// fetch responses; only a partition nothing was fetched from since its
// assignment costs a request (at most 2 s, once). Other processes' members
// are not counted: sum Lag across processes.
func (s *Subscriber) Lag() map[string]int64 {
	s.mu.Lock()
	members := make([]*member, 0, len(s.members))
	for m := range s.members {
		members = append(members, m)
	}
	s.mu.Unlock()
	lag := make(map[string]int64)
	for _, m := range members {
		n, ok := m.lag()
		if ok {
			lag[m.group] += n
		}
	}
	return lag
}

// Close ends every Consume call (each returns after its batch in flight and
// commits what it stored), then closes the dead-letter producer. Consume fails
// with KindUnavailable afterwards. Close can be called twice.
func (s *Subscriber) Close() error {
	_ = s.CloseContext(context.Background())
	return nil
}

// CloseContext is Close, except that the dead-letter producer waits for its
// records no longer than ctx's deadline and the records it leaves
// unacknowledged are reported (see Publisher.CloseContext); Close only logs
// them. Only the first call of either closes.
func (s *Subscriber) CloseContext(ctx context.Context) error {
	var err error
	s.once.Do(func() {
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		s.cancel()
		s.wg.Wait()
		s.mu.Lock()
		dlq := s.dlq
		s.mu.Unlock()
		if dlq != nil {
			err = dlq.CloseContext(ctx)
		}
		s.logs.stop()
	})
	s.wg.Wait()
	return err
}

// member is one Consume call: a librdkafka consumer in a group.
type member struct {
	s         *Subscriber
	cfg       Config
	group     string // as named to Consume
	topic     string // as named to Consume
	wireGroup string
	wireTopic string
	h         ports.BatchHandler
	c         *ckafka.Consumer

	// client keeps c open while Lag uses it.
	client sync.RWMutex
	closed bool

	// Touched by the Consume goroutine (the rebalance callback runs inside
	// Poll, on that goroutine); mu guards them against Lag.
	mu      sync.Mutex
	owned   map[int32]*partition
	gen     uint64 // counts assignments, so a partition revoked and assigned again is told apart
	pending []item // fetched while a batch was being retried
	pausing bool   // a batch is being retried: keep new partitions paused
}

// partition is the state of one owned partition.
type partition struct {
	gen    uint64 // assignment the state belongs to
	next   int64  // next offset expected from the log, -1 before the first record
	first  int64  // offset of the first record fetched since assignment, -1 before
	stored int64  // offset stored since assignment, -1 when none
	start  int64  // committed offset when assigned, -1 before Lag asked for it
	paused bool
}

// item is a record and what storing its offset needs.
type item struct {
	rec   ports.Record
	epoch *int32 // leader epoch, for the client's log truncation check
	gen   uint64 // assignment of the partition it was fetched under
}

func (s *Subscriber) newMember(group, topic string, h ports.BatchHandler) (*member, error) {
	m := &member{
		s:         s,
		cfg:       s.cfg,
		group:     group,
		topic:     topic,
		wireGroup: s.cfg.TopicPrefix + group,
		wireTopic: s.cfg.TopicPrefix + topic,
		h:         h,
		owned:     make(map[int32]*partition),
	}
	c, err := ckafka.NewConsumer(s.cfg.consumerConfig(m.wireGroup, topic, s.logs.ch))
	if err != nil {
		return nil, domain.Wrap(domain.KindUnavailable, err, "kafka: create consumer")
	}
	if err := c.SubscribeTopics([]string{m.wireTopic}, m.rebalance); err != nil {
		_ = c.Close()
		return nil, translate(err, "kafka: subscribe to "+topic)
	}
	m.c = c
	return m, nil
}

func (m *member) log() []any {
	return []any{"group", m.wireGroup, "topic", m.wireTopic}
}

// run is the consume loop: collect a batch, process it, repeat.
func (m *member) run(ctx context.Context) error {
	defer m.close()
	m.cfg.Logger.Info("kafka: consumer started", m.log()...)
	for ctx.Err() == nil {
		batch, err := m.fill(ctx)
		if err != nil {
			return err
		}
		if len(batch) > 0 {
			if err := m.process(ctx, batch); err != nil {
				return err
			}
		}
	}
	return nil
}

// close leaves the group. librdkafka commits the stored offsets first.
func (m *member) close() {
	m.client.Lock()
	m.closed = true
	m.client.Unlock()
	if err := m.c.Close(); err != nil {
		m.cfg.Logger.Warn("kafka: closing consumer", append(m.log(), "err", err)...)
	}
	m.cfg.Logger.Info("kafka: consumer stopped", m.log()...)
}

// rebalance runs inside Poll when the group gives or takes partitions.
func (m *member) rebalance(c *ckafka.Consumer, ev ckafka.Event) error {
	cooperative := c.GetRebalanceProtocol() == "COOPERATIVE"
	switch e := ev.(type) {
	case ckafka.AssignedPartitions:
		var err error
		if cooperative {
			err = c.IncrementalAssign(e.Partitions)
		} else {
			err = c.Assign(e.Partitions)
		}
		if err != nil {
			m.cfg.Logger.Error("kafka: assign", append(m.log(), "err", err)...)
			return err
		}
		m.mu.Lock()
		m.gen++
		for _, tp := range e.Partitions {
			m.owned[tp.Partition] = &partition{gen: m.gen, next: -1, first: -1, stored: -1, start: -1}
		}
		pausing := m.pausing
		m.mu.Unlock()
		if pausing {
			m.pause(e.Partitions)
		}
		m.cfg.Logger.Info("kafka: partitions assigned", append(m.log(), "partitions", numbers(e.Partitions))...)
	case ckafka.RevokedPartitions:
		lost := c.AssignmentLost()
		m.mu.Lock()
		for _, tp := range e.Partitions {
			delete(m.owned, tp.Partition)
		}
		m.pending = m.keepOwned(m.pending)
		m.mu.Unlock()
		var err error
		if cooperative {
			err = c.IncrementalUnassign(e.Partitions)
		} else {
			err = c.Unassign()
		}
		if err != nil {
			m.cfg.Logger.Error("kafka: unassign", append(m.log(), "err", err)...)
			return err
		}
		m.cfg.Logger.Info("kafka: partitions revoked",
			append(m.log(), "partitions", numbers(e.Partitions), "lost", lost)...)
	}
	return nil
}

// owns reports whether partition n is still owned under assignment gen.
// m.mu must be held.
func (m *member) owns(n int32, gen uint64) bool {
	p, ok := m.owned[n]
	return ok && p.gen == gen
}

// keepOwned drops the items of partitions no longer owned (or revoked and
// assigned again since they were fetched: the new assignment fetches them
// anew). m.mu must be held.
func (m *member) keepOwned(items []item) []item {
	kept := items[:0]
	for _, it := range items {
		if m.owns(it.rec.Partition, it.gen) {
			kept = append(kept, it)
		}
	}
	clear(items[len(kept):])
	return kept
}

// fill collects the next batch: it waits for a first record (checking ctx
// every 100 ms), then takes what arrives within BatchMaxWait, up to
// BatchMaxRecords. It returns no records when ctx ends.
func (m *member) fill(ctx context.Context) ([]item, error) {
	m.mu.Lock()
	batch := m.keepOwned(m.pending)
	m.pending = nil
	m.mu.Unlock()
	var deadline time.Time
	if len(batch) > 0 {
		deadline = time.Now().Add(m.cfg.BatchMaxWait)
	}
	for len(batch) < m.cfg.BatchMaxRecords {
		if ctx.Err() != nil {
			return nil, nil
		}
		timeout := 100
		if len(batch) > 0 {
			// Past the deadline, take only what is already fetched.
			timeout = int((max(time.Until(deadline), 0) + time.Millisecond - 1) / time.Millisecond)
		}
		it, ok, err := m.poll(timeout)
		if err != nil {
			return nil, err
		}
		if !ok {
			if len(batch) > 0 && !time.Now().Before(deadline) {
				break
			}
			continue
		}
		if len(batch) == 0 {
			deadline = time.Now().Add(m.cfg.BatchMaxWait)
		}
		batch = append(batch, it)
	}
	// A rebalance served by a Poll above may have taken partitions away.
	m.mu.Lock()
	batch = m.keepOwned(batch)
	m.mu.Unlock()
	return batch, nil
}

// poll serves one event of the consumer and returns the record it carried, if
// any. Records of partitions not owned, or older than one already handed out
// (a refetch), are skipped.
func (m *member) poll(timeoutMs int) (item, bool, error) {
	switch e := m.c.Poll(timeoutMs).(type) {
	case nil:
	case *ckafka.Message:
		tp := e.TopicPartition
		if tp.Error != nil {
			m.cfg.Logger.Warn("kafka: consumer error", append(m.log(), "partition", tp.Partition, "err", tp.Error)...)
			return item{}, false, nil
		}
		m.mu.Lock()
		p, ok := m.owned[tp.Partition]
		if ok && int64(tp.Offset) < p.next {
			ok = false
		}
		var gen uint64
		if ok {
			gen = p.gen
			p.next = int64(tp.Offset) + 1
			if p.first < 0 {
				p.first = int64(tp.Offset)
			}
		}
		m.mu.Unlock()
		if !ok {
			return item{}, false, nil
		}
		return item{
			rec: ports.Record{
				Topic:     m.topic,
				Partition: tp.Partition,
				Offset:    int64(tp.Offset),
				Key:       e.Key,
				Value:     e.Value,
				Time:      e.Timestamp,
			},
			epoch: tp.LeaderEpoch,
			gen:   gen,
		}, true, nil
	case ckafka.Error:
		if e.IsFatal() {
			return item{}, false, domain.Wrap(domain.KindUnavailable, e, "kafka: consumer failed")
		}
		m.cfg.Logger.Warn("kafka: consumer error", append(m.log(), "err", e)...)
	case ckafka.OffsetsCommitted:
		if e.Error != nil {
			m.cfg.Logger.Warn("kafka: offset commit", append(m.log(), "err", e.Error)...)
		}
	default:
		m.cfg.Logger.Debug("kafka: consumer event", append(m.log(), "event", e.String())...)
	}
	return item{}, false, nil
}

// process hands batch to the handler until it succeeds or ctx ends, moves the
// rejected records to the dead-letter topic, and stores the offsets. It never
// gives up on a batch while ctx lasts (the next batch's offsets would cover
// it): it returns an error only when the consumer failed for good, and then
// nothing of the batch is stored.
func (m *member) process(ctx context.Context, batch []item) error {
	backoff := m.cfg.RetryBackoff
	for attempt := 1; ; attempt++ {
		recs := make([]ports.Record, len(batch))
		for i, it := range batch {
			recs[i] = it.rec
		}
		hctx, release := m.graceful(ctx)
		rejected, err := m.h(hctx, recs)
		if err == nil {
			var ok bool
			if ok, err = m.deadLetter(ctx, hctx, rejected, &batch); ok {
				m.store(batch)
			}
			release()
			return err
		}
		release()
		if ctx.Err() != nil {
			return nil // not stored: redelivered to whoever owns the partitions next
		}
		m.cfg.Logger.Warn("kafka: handler failed, retrying the batch",
			append(m.log(), "records", len(batch), "attempt", attempt, "backoff", backoff, "err", err)...)
		if err := m.wait(ctx, backoff); err != nil || ctx.Err() != nil {
			return err
		}
		m.mu.Lock()
		batch = m.keepOwned(batch)
		m.mu.Unlock()
		if len(batch) == 0 {
			return nil // every partition moved to another member, which redoes them
		}
		backoff = min(2*backoff, m.cfg.RetryMaxBackoff)
	}
}

// graceful returns the context of one batch's handling: it ends HandlerGrace
// after ctx does, so that a batch in flight on shutdown can finish, and its
// dead-letter records be produced. release frees it.
func (m *member) graceful(ctx context.Context) (hctx context.Context, release func()) {
	hctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stop := context.AfterFunc(ctx, func() {
		t := time.AfterFunc(m.cfg.HandlerGrace, cancel)
		context.AfterFunc(hctx, func() { t.Stop() })
	})
	return hctx, func() {
		stop()
		cancel()
	}
}

// wait pauses the owned partitions for d (or until ctx ends) while serving
// rebalances, so that the group does not evict this member while it retries.
// Records still arriving are kept for the next batch. It fails only when the
// consumer failed for good.
func (m *member) wait(ctx context.Context, d time.Duration) error {
	m.mu.Lock()
	m.pausing = true
	parts := m.ownedList()
	m.mu.Unlock()
	m.pause(parts)
	defer func() {
		m.mu.Lock()
		m.pausing = false
		var resume []ckafka.TopicPartition
		for n, p := range m.owned {
			if p.paused {
				p.paused = false
				resume = append(resume, ckafka.TopicPartition{Topic: &m.wireTopic, Partition: n})
			}
		}
		m.mu.Unlock()
		if len(resume) > 0 {
			if err := m.c.Resume(resume); err != nil {
				m.cfg.Logger.Warn("kafka: resume", append(m.log(), "err", err)...)
			}
		}
	}()
	deadline := time.Now().Add(d)
	for ctx.Err() == nil {
		left := time.Until(deadline)
		if left <= 0 {
			return nil
		}
		it, ok, err := m.poll(int(min(left, 100*time.Millisecond) / time.Millisecond))
		if err != nil {
			return err
		}
		if ok {
			m.mu.Lock()
			m.pending = append(m.pending, it)
			m.mu.Unlock()
		}
	}
	return nil
}

// pause stops fetching parts; fetching resumes where the handed out records end.
func (m *member) pause(parts []ckafka.TopicPartition) {
	if len(parts) == 0 {
		return
	}
	if err := m.c.Pause(parts); err != nil {
		m.cfg.Logger.Warn("kafka: pause", append(m.log(), "err", err)...)
		return
	}
	m.mu.Lock()
	for _, tp := range parts {
		if p, ok := m.owned[tp.Partition]; ok {
			p.paused = true
		}
	}
	m.mu.Unlock()
}

// ownedList returns the owned partitions. m.mu must be held.
func (m *member) ownedList() []ckafka.TopicPartition {
	parts := make([]ckafka.TopicPartition, 0, len(m.owned))
	for n := range m.owned {
		parts = append(parts, ckafka.TopicPartition{Topic: &m.wireTopic, Partition: n})
	}
	return parts
}

// deadLetter produces the rejected records to the dead-letter topic under
// hctx, retrying with backoff until every one is acknowledged or ctx ends. It
// drops from *batch the partitions revoked while it retried, and reports
// whether the batch's offsets may be stored; when not, the batch is
// redelivered. It fails only when the consumer failed for good.
func (m *member) deadLetter(ctx, hctx context.Context, rejected []ports.Rejection, batch *[]item) (bool, error) {
	todo := rejected
	backoff := m.cfg.RetryBackoff
	for len(todo) > 0 {
		failed, err := m.publishDeadLetters(hctx, todo)
		if len(failed) == 0 {
			return true, nil
		}
		m.cfg.Logger.Warn("kafka: dead-letter produce failed, retrying",
			append(m.log(), "records", len(failed), "backoff", backoff, "err", err)...)
		if ctx.Err() != nil {
			return false, nil
		}
		if err := m.wait(ctx, backoff); err != nil || ctx.Err() != nil {
			return false, err
		}
		m.mu.Lock()
		*batch = m.keepOwned(*batch)
		m.mu.Unlock()
		kept := make(map[[2]int64]bool, len(*batch))
		for _, it := range *batch {
			kept[[2]int64{int64(it.rec.Partition), it.rec.Offset}] = true
		}
		todo = failed[:0:0]
		for _, r := range failed {
			if kept[[2]int64{int64(r.Record.Partition), r.Record.Offset}] {
				todo = append(todo, r)
			}
		}
		backoff = min(2*backoff, m.cfg.RetryMaxBackoff)
	}
	return true, nil
}

// publishDeadLetters produces the rejected records concurrently and returns
// those that failed, with the first error.
func (m *member) publishDeadLetters(ctx context.Context, rejected []ports.Rejection) ([]ports.Rejection, error) {
	dlq, err := m.s.deadLetters()
	if err != nil {
		return rejected, err
	}
	errs := make([]error, len(rejected))
	var wg sync.WaitGroup
	for i, r := range rejected {
		wg.Go(func() { errs[i] = m.publishDeadLetter(ctx, dlq, r) })
	}
	wg.Wait()
	var failed []ports.Rejection
	var first error
	for i, err := range errs {
		if err != nil {
			failed = append(failed, rejected[i])
			first = cmp.Or(first, err)
		}
	}
	return failed, first
}

func (m *member) publishDeadLetter(ctx context.Context, dlq *Publisher, r ports.Rejection) error {
	headers := []ckafka.Header{
		{Key: HeaderReason, Value: []byte(r.Reason)},
		{Key: HeaderTopic, Value: []byte(m.wireTopic)},
		{Key: HeaderPartition, Value: []byte(strconv.FormatInt(int64(r.Record.Partition), 10))},
		{Key: HeaderOffset, Value: []byte(strconv.FormatInt(r.Record.Offset, 10))},
		{Key: HeaderGroup, Value: []byte(m.wireGroup)},
		{Key: HeaderTime, Value: []byte(time.Now().UTC().Format(time.RFC3339Nano))},
	}
	err := dlq.publish(ctx, ports.DeadLetterTopic(m.topic), r.Record.Key, r.Record.Value, headers)
	if err == nil {
		m.cfg.Logger.Warn("kafka: record moved to the dead-letter topic",
			append(m.log(), "partition", r.Record.Partition, "offset", r.Record.Offset, "reason", r.Reason)...)
	}
	return err
}

// store stores, for every partition of batch still owned, the offset after its
// last record. The client commits it within CommitInterval.
func (m *member) store(batch []item) {
	last := make(map[int32]item)
	for _, it := range batch {
		if prev, ok := last[it.rec.Partition]; !ok || it.rec.Offset > prev.rec.Offset {
			last[it.rec.Partition] = it
		}
	}
	m.mu.Lock()
	offsets := make([]ckafka.TopicPartition, 0, len(last))
	for n, it := range last {
		if !m.owns(n, it.gen) {
			continue // revoked: the new owner redoes it
		}
		offsets = append(offsets, ckafka.TopicPartition{
			Topic:       &m.wireTopic,
			Partition:   n,
			Offset:      ckafka.Offset(it.rec.Offset + 1),
			LeaderEpoch: it.epoch,
		})
	}
	m.mu.Unlock()
	if len(offsets) == 0 {
		return
	}
	stored, err := m.c.StoreOffsets(offsets)
	if err != nil {
		m.cfg.Logger.Warn("kafka: store offsets", append(m.log(), "err", err)...)
	}
	m.mu.Lock()
	for _, tp := range stored {
		if p, ok := m.owned[tp.Partition]; ok && tp.Error == nil && p.gen == last[tp.Partition].gen {
			p.stored = int64(tp.Offset)
		}
	}
	m.mu.Unlock()
}

// lag sums high watermark minus processed position over the owned partitions.
// The processed position is the stored offset; before anything was stored,
// the first offset fetched; before anything was fetched, the group's committed
// offset (or the log start when the group has none), asked for once per
// assignment. A partition whose high watermark is not known yet counts 0.
func (m *member) lag() (int64, bool) {
	m.client.RLock()
	defer m.client.RUnlock()
	if m.closed {
		return 0, false
	}
	type part struct {
		n     int32
		gen   uint64
		at    int64
		known bool
	}
	m.mu.Lock()
	parts := make([]part, 0, len(m.owned))
	var ask []ckafka.TopicPartition
	for n, p := range m.owned {
		q := part{n: n, gen: p.gen, known: true}
		switch {
		case p.stored >= 0:
			q.at = p.stored
		case p.first >= 0:
			q.at = p.first
		case p.start >= 0:
			q.at = p.start
		default:
			q.known = false
			ask = append(ask, ckafka.TopicPartition{Topic: &m.wireTopic, Partition: n})
		}
		parts = append(parts, q)
	}
	m.mu.Unlock()

	committed := map[int32]int64{}
	if len(ask) > 0 {
		got, err := m.c.Committed(ask, 2000)
		if err != nil {
			m.cfg.Logger.Debug("kafka: committed offsets for lag", append(m.log(), "err", err)...)
		}
		for _, tp := range got {
			if tp.Error == nil && tp.Offset >= 0 {
				committed[tp.Partition] = int64(tp.Offset)
			}
		}
	}

	var total int64
	for _, q := range parts {
		low, high, err := m.c.GetWatermarkOffsets(m.wireTopic, q.n)
		if err != nil || high < 0 {
			continue
		}
		if !q.known {
			at, ok := committed[q.n]
			switch {
			case ok:
				m.mu.Lock()
				if p, still := m.owned[q.n]; still && p.gen == q.gen {
					p.start = at
				}
				m.mu.Unlock()
			case low >= 0:
				at = low // nothing committed: consuming starts at the log start
			default:
				continue
			}
			q.at = at
		}
		total += max(high-q.at, 0)
	}
	return total, true
}

func numbers(parts []ckafka.TopicPartition) []int32 {
	out := make([]int32, len(parts))
	for i, tp := range parts {
		out[i] = tp.Partition
	}
	return out
}
