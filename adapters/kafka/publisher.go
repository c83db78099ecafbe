package kafka

import (
	"context"
	"errors"
	"sync"
	"time"

	ckafka "github.com/confluentinc/confluent-kafka-go/v2/kafka"

	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
)

var _ ports.Publisher = (*Publisher)(nil)

// Publisher appends records to Kafka topics with an idempotent producer. It
// implements ports.Publisher. Safe for concurrent use; close it with Close.
type Publisher struct {
	cfg  Config
	logs *logPump

	mu     sync.RWMutex
	prod   *producer // current producer; replaced after a fatal error
	closed bool

	wg        sync.WaitGroup // event loops and replacements
	closeOnce sync.Once
}

// producer is one librdkafka producer and the signal that it is gone.
type producer struct {
	p    *ckafka.Producer
	dead chan struct{} // closed when p is closed: its delivery reports will not come
	once sync.Once
}

// NewPublisher returns a Publisher for cfg. It does not wait for the brokers:
// the producer connects in the background and Publish reports when they cannot
// be reached.
func NewPublisher(cfg Config) (*Publisher, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	p := &Publisher{cfg: cfg, logs: startLogPump(cfg.Logger)}
	prod, err := p.newProducer()
	if err != nil {
		p.logs.stop()
		return nil, err
	}
	p.prod = prod
	return p, nil
}

func (p *Publisher) newProducer() (*producer, error) {
	kp, err := ckafka.NewProducer(p.cfg.producerConfig(p.logs.ch))
	if err != nil {
		return nil, domain.Wrap(domain.KindInvalid, err, "kafka: create producer")
	}
	prod := &producer{p: kp, dead: make(chan struct{})}
	p.wg.Go(func() { p.events(prod) })
	return prod, nil
}

// events drains the producer's shared event channel, which carries client
// errors (delivery reports go to each Publish call's own channel), until the
// producer is closed.
func (p *Publisher) events(prod *producer) {
	for ev := range prod.p.Events() {
		switch e := ev.(type) {
		case ckafka.Error:
			if e.IsFatal() {
				p.cfg.Logger.Error("kafka: producer failed for good, replacing it", "err", e)
				p.spawnReplace(prod)
				continue
			}
			p.cfg.Logger.Warn("kafka: producer error", "err", e)
		case *ckafka.Message:
			// A delivery report without a channel: none are produced that way.
		default:
			p.cfg.Logger.Debug("kafka: producer event", "event", e.String())
		}
	}
}

// spawnReplace replaces prod in the background unless the Publisher is closing.
func (p *Publisher) spawnReplace(prod *producer) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if !p.closed {
		p.wg.Go(func() { p.replace(prod) })
	}
}

// replace swaps a producer that hit a fatal error (an idempotent producer
// cannot recover from one), or held a record for the whole DeliveryTimeout,
// for a new one. Records still queued in the old one fail with
// KindUnavailable.
func (p *Publisher) replace(old *producer) {
	p.mu.Lock()
	if p.closed || p.prod != old {
		p.mu.Unlock()
		return
	}
	prod, err := p.newProducer()
	if err != nil {
		p.mu.Unlock()
		p.cfg.Logger.Error("kafka: cannot replace producer", "err", err)
		return
	}
	p.prod = prod
	p.mu.Unlock()
	p.closeProducer(old, time.Second)
}

// closeProducer flushes prod for up to timeout, then closes it. It returns
// how many records were left unacknowledged.
func (p *Publisher) closeProducer(prod *producer, timeout time.Duration) (unacked int) {
	prod.once.Do(func() {
		if unacked = prod.p.Flush(int(timeout.Milliseconds())); unacked > 0 {
			p.cfg.Logger.Warn("kafka: closing producer with records not acknowledged", "records", unacked)
		}
		close(prod.dead)
		prod.p.Close()
	})
	return unacked
}

// Publish appends value under key to topic and waits until all in-sync
// replicas acknowledged it; see ports.Publisher. It fails with KindInvalid for
// an unknown or illegal topic, KindTooLarge for a record over MaxMessageBytes,
// and KindUnavailable when the record was not acknowledged before ctx ended or
// DeliveryTimeout elapsed (it may still have been appended) or the Publisher
// is closed.
func (p *Publisher) Publish(ctx context.Context, topic string, key, value []byte) error {
	return p.publish(ctx, topic, key, value, nil)
}

func (p *Publisher) publish(ctx context.Context, topic string, key, value []byte, headers []ckafka.Header) error {
	if err := p.cfg.checkTopic(topic); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return translate(err, "kafka: publish to "+topic)
	}
	if len(key)+len(value) > p.cfg.MaxMessageBytes {
		return domain.Errorf(domain.KindTooLarge, "kafka: record of %d bytes exceeds the limit of %d",
			len(key)+len(value), p.cfg.MaxMessageBytes)
	}
	wire := p.cfg.TopicPrefix + topic
	msg := &ckafka.Message{
		TopicPartition: ckafka.TopicPartition{Topic: &wire, Partition: ckafka.PartitionAny},
		Key:            key,
		Value:          value,
		Headers:        headers,
	}
	report := make(chan ckafka.Event, 1)
	prod, err := p.produce(ctx, msg, report)
	if err != nil {
		return err
	}
	select {
	case ev := <-report:
		m, ok := ev.(*ckafka.Message)
		if !ok {
			return domain.Errorf(domain.KindInternal, "kafka: unexpected delivery report %T", ev)
		}
		if m.TopicPartition.Error != nil {
			switch err := m.TopicPartition.Error; {
			case isFatal(err):
				p.spawnReplace(prod)
			case isStale(err):
				// A record held for the whole DeliveryTimeout: the cluster
				// was away that long, or the client is stuck on a leader
				// that came back (seen after a lone broker's restart: the
				// leader is known again and nothing is sent). A new producer
				// starts from fresh metadata and a new producer id; the
				// records still queued in the old one fail with
				// KindUnavailable and are retried by their senders (stored
				// once: the store deduplicates by sender and clientMessageId).
				p.cfg.Logger.Warn("kafka: a record was not acknowledged within the delivery timeout, replacing the producer", "err", err)
				p.spawnReplace(prod)
			}
			return translate(m.TopicPartition.Error, "kafka: publish to "+topic)
		}
		return nil
	case <-ctx.Done():
		return translate(ctx.Err(), "kafka: publish to "+topic+" not acknowledged")
	case <-prod.dead:
		return domain.Errorf(domain.KindUnavailable, "kafka: publish to %s: producer closed before acknowledging", topic)
	}
}

// produce enqueues msg on the current producer, waiting while its local queue
// is full, and returns the producer that took it.
func (p *Publisher) produce(ctx context.Context, msg *ckafka.Message, report chan ckafka.Event) (*producer, error) {
	const queueFullPause = 2 * time.Millisecond
	for {
		p.mu.RLock()
		if p.closed {
			p.mu.RUnlock()
			return nil, domain.Errorf(domain.KindUnavailable, "kafka: publisher closed")
		}
		prod := p.prod
		err := prod.p.Produce(msg, report)
		p.mu.RUnlock()
		var kerr ckafka.Error
		switch {
		case err == nil:
			return prod, nil
		case errors.As(err, &kerr) && kerr.Code() == ckafka.ErrQueueFull:
			if !sleep(ctx, queueFullPause) {
				return nil, translate(ctx.Err(), "kafka: producer queue full")
			}
		case isFatal(err):
			p.spawnReplace(prod)
			return nil, translate(err, "kafka: publish to "+*msg.TopicPartition.Topic)
		default:
			return nil, translate(err, "kafka: publish to "+*msg.TopicPartition.Topic)
		}
	}
}

// Close is CloseContext without a deadline of its own, except that records
// left unacknowledged are only logged: the Publish call of each has failed.
func (p *Publisher) Close() error {
	_ = p.CloseContext(context.Background())
	return nil
}

// CloseContext waits for records in flight to be acknowledged (their Publish
// calls return as usual), for at most DeliveryTimeout and never past ctx's
// deadline, then closes the producer. It fails with KindUnavailable when
// records were left unacknowledged. Publish fails with KindUnavailable
// afterwards. It can be called twice; only the first call closes.
func (p *Publisher) CloseContext(ctx context.Context) error {
	var err error
	p.closeOnce.Do(func() {
		p.mu.Lock()
		p.closed = true
		prod := p.prod
		p.mu.Unlock()
		timeout := p.cfg.DeliveryTimeout
		if deadline, ok := ctx.Deadline(); ok {
			timeout = max(min(timeout, time.Until(deadline)), 0)
		}
		if n := p.closeProducer(prod, timeout); n > 0 {
			err = domain.Errorf(domain.KindUnavailable, "kafka: producer closed with %d records not acknowledged", n)
		}
		p.wg.Wait()
		p.logs.stop()
	})
	p.wg.Wait()
	return err
}

// Ping checks that the cluster answers a metadata request for the
// chat-messages topic, within ctx (and at most 5 s); for readiness checks.
// Errors: KindUnavailable.
func (p *Publisher) Ping(ctx context.Context) error {
	timeout := 5 * time.Second
	if deadline, ok := ctx.Deadline(); ok {
		timeout = max(min(timeout, time.Until(deadline)), time.Millisecond)
	}
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.closed {
		return domain.Errorf(domain.KindUnavailable, "kafka: publisher closed")
	}
	topic := p.cfg.TopicPrefix + ports.TopicChatMessages
	if _, err := p.prod.p.GetMetadata(&topic, false, int(timeout.Milliseconds())); err != nil {
		return domain.Wrap(domain.KindUnavailable, err, "kafka: cluster does not answer")
	}
	return nil
}
