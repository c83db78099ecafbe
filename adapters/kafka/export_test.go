package kafka

import (
	"time"

	ckafka "github.com/confluentinc/confluent-kafka-go/v2/kafka"
)

// FailProducer raises a fatal error in p's current producer, as a broker
// reporting an idempotence violation would.
func FailProducer(p *Publisher) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	p.prod.p.TestFatalError(ckafka.ErrOutOfOrderSequenceNumber, "raised by a test")
}

// FetchSettings returns fetch.wait.max.ms and fetch.min.bytes of a consumer
// of topic under cfg (defaults applied).
func FetchSettings(cfg Config, topic string) (waitMs, minBytes any, err error) {
	cfg, err = cfg.withDefaults()
	if err != nil {
		return nil, nil, err
	}
	m := *cfg.consumerConfig("g", topic, nil)
	return m["fetch.wait.max.ms"], m["fetch.min.bytes"], nil
}

// Queued returns how many records p's current producer holds that are not
// yet acknowledged (queued, in flight, or with a delivery report to hand out).
func Queued(p *Publisher) int {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.prod.p.Len()
}

// SetInstance gives the members s starts the static group.instance.id id.
func SetInstance(s *Subscriber, id string) { s.instance = id }

// ConsumerSettings returns the librdkafka configuration of a member of group
// on topic under cfg (defaults applied).
func ConsumerSettings(cfg Config, group, topic string) (ckafka.ConfigMap, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	return *cfg.consumerConfig(group, topic, nil), nil
}

// CurrentProducer identifies p's current librdkafka producer, to tell when it
// was replaced.
func CurrentProducer(p *Publisher) any {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.prod
}

// StallLag makes s's lag reads wait for release before reading, as a client
// stuck on a lock would, and bounds Lag's wait for them to wait.
func StallLag(s *Subscriber, wait time.Duration, release <-chan struct{}) {
	s.lagWait = wait
	s.lagOf = func(m *member) (int64, bool) {
		<-release
		return m.lag()
	}
}
