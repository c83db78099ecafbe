// Package kafka implements the message log ports (ports.Publisher and
// ports.Subscriber) on Apache Kafka with confluent-kafka-go (librdkafka).
//
// Publisher produces with an idempotent producer (enable.idempotence, acks=all)
// and returns from Publish only once the broker acknowledged the record, so a
// nil error means the record is durably in the log. Subscriber consumes as a
// member of a consumer group with the cooperative-sticky assignor and hands
// records to a ports.BatchHandler in batches; an offset is stored (and then
// committed by the client's periodic commit) only after the handler accepted
// the batch holding it, which makes delivery at-least-once. Records the handler
// rejects go to the topic's dead-letter topic (ports.DeadLetterTopic) with the
// reason and origin in headers (HeaderReason and friends) before their offset
// is stored. EnsureTopics creates topics and their dead-letter topics.
//
// Publisher, Subscriber and their methods are safe for concurrent use. Every
// confluent-kafka-go import of the module stays inside this package, because
// it is the only package that needs cgo.
package kafka
