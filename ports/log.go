package ports

import (
	"context"
	"time"
)

// Topics of the message log, as the architecture guide names them.
const (
	TopicChatMessages = "chat-messages"
	TopicTyping       = "typing-indicators"
	TopicReadReceipts = "read-receipts"
	TopicFriendEvents = "friend-events"
)

// GuideTopics returns the guide's topics with their partition counts:
// chat-messages 10, typing-indicators 5, read-receipts 5, friend-events 1.
// Each call returns a new map, which the caller may change.
func GuideTopics() map[string]int {
	return map[string]int{
		TopicChatMessages: 10,
		TopicTyping:       5,
		TopicReadReceipts: 5,
		TopicFriendEvents: 1,
	}
}

// Consumer groups of the message log, as the architecture guide names them.
const (
	GroupMessageDelivery = "message-delivery-group"
	GroupTypingBroadcast = "typing-broadcast-group"
	GroupReceiptUpdate   = "receipt-update-group"
	GroupFriendEvents    = "friend-events-group"
)

// DeadLetterTopic is where records of topic that can never be processed go.
func DeadLetterTopic(topic string) string { return topic + ".dlq" }

// Record is one entry of the log.
type Record struct {
	Topic     string
	Partition int32
	Offset    int64
	Key       []byte
	Value     []byte
	Time      time.Time
}

// Publisher appends records to the log.
type Publisher interface {
	// Publish appends value under key to topic and returns only once the log has
	// durably accepted it (for Kafka: acknowledged by all in-sync replicas). A nil
	// error means the record will be delivered to every consumer group at least
	// once. Records with the same key land in the same partition and are consumed
	// in publish order. A retried Publish may append the record twice; consumers
	// deduplicate.
	//
	// Errors: KindUnavailable when the log cannot be reached or did not answer
	// before ctx ended (the record may or may not have been appended), KindTooLarge
	// when the record exceeds the log's limit, KindInvalid for an unknown topic.
	// Safe for concurrent use.
	Publish(ctx context.Context, topic string, key, value []byte) error
}

// Rejection names a record that can never be processed and why. The consumer
// moves it to the dead-letter topic instead of retrying it.
type Rejection struct {
	Record Record
	Reason string
}

// BatchHandler processes a batch of records from one or more partitions, each
// partition's records in log order. It returns the records it rejected for good
// (they go to the dead-letter topic) and a nil error to let the consumer commit
// the whole batch. A non-nil error means nothing of the batch is committed: the
// consumer retries the same records, with backoff, until it succeeds or ctx ends.
// The handler must therefore be idempotent.
type BatchHandler func(ctx context.Context, batch []Record) ([]Rejection, error)

// Subscriber consumes the log as a member of a consumer group.
type Subscriber interface {
	// Consume joins group on topic and feeds batches to h until ctx ends or an
	// unrecoverable error occurs. Each group sees every record at least once;
	// within a group, each partition is consumed by one member at a time, in
	// order. A record's offset is committed only after h returned nil for the
	// batch holding it (at-least-once: a crash before that redelivers it).
	// Consume returns nil when ctx ends. Safe to call concurrently for different
	// groups or topics, and for the same group (several members).
	Consume(ctx context.Context, group, topic string, h BatchHandler) error
}
