package kafka

import (
	"cmp"
	"context"
	"strconv"
	"sync"
	"time"

	ckafka "github.com/confluentinc/confluent-kafka-go/v2/kafka"

	"github.com/messenger-go/messenger/ports"
)

// Headers of a record in a dead-letter topic, beside the original key and value.
const (
	HeaderReason    = "dlq-reason"    // Rejection.Reason
	HeaderTopic     = "dlq-topic"     // source topic, as named on the wire
	HeaderPartition = "dlq-partition" // source partition, decimal
	HeaderOffset    = "dlq-offset"    // source offset, decimal
	HeaderGroup     = "dlq-group"     // consumer group that rejected it, as on the wire
	HeaderTime      = "dlq-time"      // when it was rejected, RFC 3339
)

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
