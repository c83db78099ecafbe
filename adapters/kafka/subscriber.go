package kafka

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	ckafka "github.com/confluentinc/confluent-kafka-go/v2/kafka"

	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
)

var _ ports.Subscriber = (*Subscriber)(nil)

// Subscriber consumes Kafka topics as a member of consumer groups. It
// implements ports.Subscriber: each Consume call is one group member with its
// own librdkafka consumer. Safe for concurrent use; close it with Close.
type Subscriber struct {
	cfg  Config
	logs *logPump
	// instance, when set, is the group.instance.id of every member (static
	// membership). Unset in production; a second member under the same id
	// fences the first with a fatal error, which is how tests raise one.
	instance string

	ctx    context.Context // ends on Close
	cancel context.CancelFunc

	// lagOf reads one member's lag (member.lag; a test may slow it), and Lag
	// waits for it at most lagWait.
	lagOf   func(*member) (int64, bool)
	lagWait time.Duration

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
		lagOf:   (*member).lag,
		lagWait: lagWait,
	}, nil
}

// Consume joins group on topic and feeds batches to h until ctx ends; see
// ports.Subscriber. Batches hold up to BatchMaxRecords records: what the
// client fetched while the previous batch was handled, and what arrives within
// BatchMaxWait after the first (none by default). When h fails, the same batch (less the
// records of partitions revoked meanwhile) is retried with exponential backoff
// between RetryBackoff and RetryMaxBackoff. Rejected records are produced to
// the dead-letter topic before the batch's offsets are stored. Consume returns
// nil when ctx ends or the Subscriber is closed, after the batch in flight and
// after committing the stored offsets and leaving the group (with the brokers
// unreachable, that takes about SessionTimeout); KindInvalid for an illegal
// group or topic name; KindUnavailable when the consumer cannot be created or
// fails for good (then at once, leaving that consumer unclosed: it can no
// longer leave its group, and the process is expected to end).
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
	// lagBusy is set while a lag read of this member runs.
	lagBusy atomic.Bool

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
	cm := s.cfg.consumerConfig(m.wireGroup, topic, s.logs.ch)
	if s.instance != "" {
		(*cm)["group.instance.id"] = s.instance
	}
	c, err := ckafka.NewConsumer(cm)
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
