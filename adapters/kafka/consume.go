package kafka

import (
	"context"
	"time"

	ckafka "github.com/confluentinc/confluent-kafka-go/v2/kafka"

	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
)

// run is the consume loop: collect a batch, process it, repeat.
func (m *member) run(ctx context.Context) (err error) {
	defer func() {
		if isFatal(err) {
			m.abandon()
			return
		}
		m.close()
	}()
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

// abandon gives up a consumer that failed for good without closing it:
// librdkafka's close waits for the consumer to leave its group, which a failed
// consumer no longer can, so the close would not return and neither would
// Consume. The caller is expected to end the process (RunConsumers fails),
// which frees it.
func (m *member) abandon() {
	m.client.Lock()
	m.closed = true
	m.client.Unlock()
	m.cfg.Logger.Error("kafka: consumer failed for good; left unclosed", m.log()...)
}

// fill collects the next batch: it waits for a first record (checking ctx
// every 100 ms), then takes what is already fetched and what arrives within
// BatchMaxWait, up to BatchMaxRecords. librdkafka goes on fetching while a
// batch is handled, so with no wait an idle consumer hands over each record
// at once and a loaded one hands over what piled up meanwhile. It returns no
// records when ctx ends.
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
