package kafka

import ckafka "github.com/confluentinc/confluent-kafka-go/v2/kafka"

// FailProducer raises a fatal error in p's current producer, as a broker
// reporting an idempotence violation would.
func FailProducer(p *Publisher) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	p.prod.p.TestFatalError(ckafka.ErrOutOfOrderSequenceNumber, "raised by a test")
}
