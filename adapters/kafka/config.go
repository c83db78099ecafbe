package kafka

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	ckafka "github.com/confluentinc/confluent-kafka-go/v2/kafka"

	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
)

// Defaults of Config.
const (
	DefaultClientID        = "messenger"
	DefaultLinger          = time.Duration(0)
	DefaultDeliveryTimeout = 30 * time.Second
	DefaultMaxMessageBytes = 1 << 20
	DefaultBatchMaxRecords = 500
	DefaultBatchMaxWait    = time.Duration(0)
	DefaultFetchWait       = time.Duration(0)
	DefaultFetchMinBytes   = 64 << 10
	DefaultSessionTimeout  = 10 * time.Second
	DefaultCommitInterval  = time.Second
	DefaultRetryBackoff    = 100 * time.Millisecond
	DefaultRetryMaxBackoff = time.Second
	DefaultHandlerGrace    = 5 * time.Second
	DefaultTopicWait       = 3 * time.Second
	DefaultRequestTimeout  = 3 * time.Second
	DefaultMetadataRefresh = 250 * time.Millisecond
)

// Consumer group protocols (Config.GroupProtocol).
const (
	GroupProtocolClassic  = "classic"
	GroupProtocolConsumer = "consumer"
)

// DefaultBatchedTopics returns the topics whose fetches wait for records to
// pile up when FetchWait is set: the message flow, the one topic with volume.
func DefaultBatchedTopics() []string { return []string{ports.TopicChatMessages} }

// idleFetchWait is how long a fetch that is answered as soon as a record is
// there waits for a first one.
const idleFetchWait = 100 * time.Millisecond

// Config configures Publisher, Subscriber and EnsureTopics. Only Brokers is
// required; every other field has a default, applied by the constructors.
type Config struct {
	// Brokers is the comma-separated bootstrap list, "host:port,host:port"
	// (the guide's KAFKA_BROKERS). Required.
	Brokers string

	// ClientID names this process in the brokers' logs and quotas.
	// Default DefaultClientID.
	ClientID string

	// TopicPrefix is put in front of every topic name and consumer group id on
	// the wire, so that several deployments or tests can share a cluster. The
	// names callers pass and the Record.Topic handlers see stay unprefixed.
	// Default none.
	TopicPrefix string

	// Linger is how long the producer waits for more records before it sends
	// a batch (linger.ms). Zero (DefaultLinger) sends as soon as a connection
	// is free: records still batch up while the previous requests are in
	// flight (five at most with idempotence). Every Publish waits for its
	// acknowledgement, so a linger adds its length to Publish latency and, with
	// a given number of concurrent callers, bounds throughput; on a loaded
	// machine a short one still pays, because fewer, larger requests cost the
	// broker far less CPU (docs/benchmarks.md, BenchmarkPublish).
	Linger time.Duration

	// DeliveryTimeout bounds how long the producer keeps retrying a record
	// before Publish gives up with KindUnavailable (message.timeout.ms); it also
	// bounds how long Close waits for records still in flight. Publish is
	// bounded by its ctx as well. Default DefaultDeliveryTimeout.
	DeliveryTimeout time.Duration

	// MaxMessageBytes is the largest record (key, value and overhead) the
	// producer accepts (message.max.bytes); larger ones fail with KindTooLarge
	// without reaching the broker. Keep it at or below the broker's and the
	// topics' limit. Default DefaultMaxMessageBytes.
	MaxMessageBytes int

	// TopicWait is how long the producer waits for a topic it never saw to
	// appear in the cluster's metadata before failing its records with
	// KindInvalid (topic.metadata.propagation.max.ms). Default DefaultTopicWait.
	TopicWait time.Duration

	// RequestTimeout is how long a request to a broker may go unanswered
	// before the client drops that connection, fails the requests on it over
	// to a retry and asks the cluster again who leads each partition
	// (socket.timeout.ms; a fetch may take FetchWait more). A frozen broker
	// (a stalled disk, a long pause) keeps its TCP connections open and
	// answers nothing; the other brokers fence it and elect new leaders after
	// their broker.session.timeout.ms, and a client follows them only once its
	// requests to the frozen one time out. Retried records keep their
	// idempotent sequence numbers, so a request that did reach the broker is
	// not stored twice. Default DefaultRequestTimeout.
	RequestTimeout time.Duration

	// MetadataRefresh is how often the clients ask the cluster which broker
	// leads each partition even when nothing failed
	// (topic.metadata.refresh.interval.ms), so that a leader that moved (a
	// broker fenced, a preferred leader restored) is followed within that
	// time. Default DefaultMetadataRefresh.
	MetadataRefresh time.Duration

	// BatchMaxRecords is the most records a consumer hands to a BatchHandler at
	// once. Default DefaultBatchMaxRecords.
	BatchMaxRecords int

	// BatchMaxWait is how long a consumer keeps collecting records after the
	// first one of a batch arrived, before handing over a batch that is not full.
	// Zero (DefaultBatchMaxWait) or negative means no wait: a batch is what the
	// client has fetched when the previous batch is done. The client keeps
	// fetching while a batch is stored, so batches stay small when the system
	// is idle and grow with the load, and each batch (one database transaction
	// and one round of notifications) shares its cost among more records
	// exactly when that matters. A wait adds up to its length to delivery
	// latency (docs/benchmarks-history.md).
	BatchMaxWait time.Duration

	// FetchWait and FetchMinBytes shape the fetches of the BatchedTopics. Zero
	// FetchWait (DefaultFetchWait) answers their fetches as soon as a record is
	// there, like every other topic's. A positive one lets records pile up:
	// the broker answers once FetchMinBytes are ready or FetchWait has passed
	// (fetch.wait.max.ms, fetch.min.bytes), which saves the broker a fetch
	// per produce request and the consumer a wake-up per few records, but
	// adds up to FetchWait to delivery latency, and an idle consumer then
	// fetches every FetchWait. FetchMinBytes defaults to DefaultFetchMinBytes.
	FetchWait     time.Duration
	FetchMinBytes int

	// BatchedTopics are the topics (unprefixed) consumed with a positive
	// FetchWait and FetchMinBytes. The others' fetches are answered as soon as
	// a record is there, and wait idleFetchWait when there is none. Nil means
	// DefaultBatchedTopics (the messages); empty means none.
	BatchedTopics []string

	// SessionTimeout is how long the group coordinator waits for a silent
	// consumer (a crashed process) before giving its partitions to another
	// member (session.timeout.ms). Default DefaultSessionTimeout.
	SessionTimeout time.Duration

	// CommitInterval is how often stored offsets are committed to the group
	// (auto.commit.interval.ms). Offsets are also committed when partitions are
	// revoked and when a consumer closes; a crash loses at most this much
	// progress, which is then redelivered. Default DefaultCommitInterval.
	CommitInterval time.Duration

	// RetryBackoff is the first pause before a batch whose handler failed is
	// retried; it doubles on each failure up to RetryMaxBackoff, which also
	// bounds how long after a store comes back from an outage the partition
	// waits to go on. Defaults DefaultRetryBackoff and DefaultRetryMaxBackoff.
	RetryBackoff    time.Duration
	RetryMaxBackoff time.Duration

	// HandlerGrace is how long a handler already running when Consume's ctx
	// ends may go on before its ctx is cancelled too, so that a batch in
	// flight can finish (and be committed) on shutdown. Zero means
	// DefaultHandlerGrace; a negative value cancels the handler at once.
	HandlerGrace time.Duration

	// ReplicationFactor is the replication factor EnsureTopics gives new
	// topics. Zero means the brokers' default.replication.factor.
	ReplicationFactor int

	// MinInSyncReplicas is the min.insync.replicas EnsureTopics gives new
	// topics: how many replicas must have a record before an acks=all send is
	// acknowledged. With three replicas, 2 keeps every acknowledged record on
	// two brokers and lets sends go on while one is down. Zero means the
	// brokers' min.insync.replicas.
	MinInSyncReplicas int

	// GroupProtocol is the consumer group protocol: GroupProtocolClassic
	// (the default), where members balance partitions among themselves and
	// SessionTimeout applies, or GroupProtocolConsumer (KIP-848, Kafka 4), where
	// the group coordinator assigns partitions and times members out by the
	// brokers' group.consumer.session.timeout.ms.
	GroupProtocol string

	// InstanceID, when set, makes each member static (group.instance.id, the
	// topic and the member's number in this process appended): a member
	// restarted under the same id within
	// SessionTimeout gets its partitions back without a rebalance, but one
	// that stops cleanly keeps them until SessionTimeout ends. Each process
	// needs its own. Default none.
	InstanceID string

	// members numbers the members that share the configuration, for their
	// static ids.
	members *atomic.Int64

	// Logger receives the adapter's and librdkafka's logs. Nil discards them.
	Logger *slog.Logger

	// Debug names librdkafka's debug contexts to log at debug level, as its
	// comma-separated "debug" property (e.g. "broker,topic,msg,eos"). Empty
	// logs none. Meant for diagnosing a cluster, not for normal running:
	// "all" logs every request.
	Debug string
}

// withDefaults validates c and returns it with every default filled in.
func (c Config) withDefaults() (Config, error) {
	c.Brokers = strings.TrimSpace(c.Brokers)
	if c.Brokers == "" {
		return c, domain.Errorf(domain.KindInvalid, "kafka: no brokers configured")
	}
	if c.ClientID == "" {
		c.ClientID = DefaultClientID
	}
	if c.TopicPrefix != "" && !validName(c.TopicPrefix) {
		return c, domain.Errorf(domain.KindInvalid, "kafka: invalid topic prefix %q", c.TopicPrefix)
	}
	if c.Linger < 0 {
		c.Linger = 0
	}
	c.DeliveryTimeout = positiveOr(c.DeliveryTimeout, DefaultDeliveryTimeout)
	c.MaxMessageBytes = positiveOr(c.MaxMessageBytes, DefaultMaxMessageBytes)
	c.TopicWait = positiveOr(c.TopicWait, DefaultTopicWait)
	c.RequestTimeout = positiveOr(c.RequestTimeout, DefaultRequestTimeout)
	c.MetadataRefresh = positiveOr(c.MetadataRefresh, DefaultMetadataRefresh)
	c.BatchMaxRecords = positiveOr(c.BatchMaxRecords, DefaultBatchMaxRecords)
	c.BatchMaxWait = max(c.BatchMaxWait, 0)
	c.FetchWait = max(c.FetchWait, 0)
	c.FetchMinBytes = positiveOr(c.FetchMinBytes, DefaultFetchMinBytes)
	if c.BatchedTopics == nil {
		c.BatchedTopics = DefaultBatchedTopics()
	}
	c.SessionTimeout = positiveOr(c.SessionTimeout, DefaultSessionTimeout)
	c.CommitInterval = positiveOr(c.CommitInterval, DefaultCommitInterval)
	c.RetryBackoff = positiveOr(c.RetryBackoff, DefaultRetryBackoff)
	c.RetryMaxBackoff = positiveOr(c.RetryMaxBackoff, DefaultRetryMaxBackoff)
	if c.RetryMaxBackoff < c.RetryBackoff {
		c.RetryMaxBackoff = c.RetryBackoff
	}
	c.HandlerGrace = unsetOr(c.HandlerGrace, DefaultHandlerGrace)
	if c.ReplicationFactor < 0 {
		return c, domain.Errorf(domain.KindInvalid, "kafka: negative replication factor %d", c.ReplicationFactor)
	}
	if c.MinInSyncReplicas < 0 || (c.ReplicationFactor > 0 && c.MinInSyncReplicas > c.ReplicationFactor) {
		return c, domain.Errorf(domain.KindInvalid, "kafka: min.insync.replicas %d with replication factor %d", c.MinInSyncReplicas, c.ReplicationFactor)
	}
	switch c.GroupProtocol {
	case "":
		c.GroupProtocol = GroupProtocolClassic
	case GroupProtocolClassic, GroupProtocolConsumer:
	default:
		return c, domain.Errorf(domain.KindInvalid, "kafka: group protocol %q (want %s or %s)", c.GroupProtocol, GroupProtocolClassic, GroupProtocolConsumer)
	}
	if c.InstanceID != "" && !validName(c.InstanceID) {
		return c, domain.Errorf(domain.KindInvalid, "kafka: invalid instance id %q", c.InstanceID)
	}
	if c.members == nil {
		c.members = new(atomic.Int64)
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c, nil
}

// unsetOr returns def when v is zero (unset), zero when v is negative
// (none), else v.
func unsetOr(v, def time.Duration) time.Duration {
	switch {
	case v == 0:
		return def
	case v < 0:
		return 0
	}
	return v
}

// positiveOr returns v, or def when v is not positive.
func positiveOr[T ~int | ~int64](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

// base is the librdkafka configuration shared by every client.
func (c Config) base(logs chan ckafka.LogEvent) ckafka.ConfigMap {
	m := ckafka.ConfigMap{
		"bootstrap.servers": c.Brokers,
		"client.id":         c.ClientID,
		// A restarted broker is found again within a second, not ten.
		"reconnect.backoff.ms":     100,
		"reconnect.backoff.max.ms": 1000,
		// A frozen broker's partitions are followed to their new leaders once
		// its requests time out, or at the next periodic look at the leaders.
		"socket.timeout.ms":                  int(c.RequestTimeout.Milliseconds()),
		"socket.connection.setup.timeout.ms": int(c.RequestTimeout.Milliseconds()),
		"topic.metadata.refresh.interval.ms": int(c.MetadataRefresh.Milliseconds()),
		"go.logs.channel.enable":             true,
		"go.logs.channel":                    logs,
	}
	if c.Debug != "" {
		m["debug"] = c.Debug
	}
	return m
}

// producerConfig is the configuration of the idempotent producer. Its broker
// connections, like the consumers', run with Nagle's algorithm off
// (socket.nagle.disable; librdkafka leaves it on), as the brokers and the
// Java client have them: with it on, a small produce or fetch request sent
// while an earlier one on the same connection is unanswered waits for that
// answer (the broker acknowledges the earlier bytes only with its answer).
func (c Config) producerConfig(logs chan ckafka.LogEvent) *ckafka.ConfigMap {
	m := c.base(logs)
	for k, v := range map[string]ckafka.ConfigValue{
		"enable.idempotence":                true,
		"socket.nagle.disable":              true,
		"acks":                              "all",
		"linger.ms":                         durationMs(c.Linger),
		"message.timeout.ms":                int(max(c.DeliveryTimeout.Milliseconds(), 1)),
		"message.max.bytes":                 c.MaxMessageBytes,
		"partitioner":                       "murmur2_random", // the Java client's key -> partition mapping
		"topic.metadata.propagation.max.ms": int(c.TopicWait.Milliseconds()),
		// Delivery reports go to per-call channels; the shared channels only carry
		// errors, and librdkafka's 1,000,000-slot defaults would cost 16 MB each.
		"go.events.channel.size":    1000,
		"go.produce.channel.size":   1,
		"go.delivery.report.fields": "none",
	} {
		m[k] = v
	}
	return &m
}

// consumerConfig is the configuration of one consumer group member of topic
// (unprefixed).
func (c Config) consumerConfig(group, topic string, logs chan ckafka.LogEvent) *ckafka.ConfigMap {
	m := c.base(logs)
	fetchWait, fetchMin := idleFetchWait, 1
	if c.FetchWait > 0 && slices.Contains(c.BatchedTopics, topic) {
		fetchWait, fetchMin = c.FetchWait, c.FetchMinBytes
	}
	if c.GroupProtocol == GroupProtocolConsumer {
		// The coordinator assigns and times out; librdkafka refuses the
		// classic protocol's settings.
		m["group.protocol"] = GroupProtocolConsumer
	} else {
		m["partition.assignment.strategy"] = "cooperative-sticky"
		m["session.timeout.ms"] = int(c.SessionTimeout.Milliseconds())
		m["heartbeat.interval.ms"] = int(max(c.SessionTimeout.Milliseconds()/4, 100))
	}
	if c.InstanceID != "" {
		m["group.instance.id"] = fmt.Sprintf("%s-%s-%d", c.InstanceID, topic, c.members.Add(1)-1)
	}
	for k, v := range map[string]ckafka.ConfigValue{
		"group.id":             group,
		"socket.nagle.disable": true, // as the producer's
		// Offsets are stored by hand once the handler accepted a batch; the
		// client commits what is stored periodically, on revoke and on close.
		"enable.auto.offset.store": false,
		"enable.auto.commit":       true,
		"auto.commit.interval.ms":  int(c.CommitInterval.Milliseconds()),
		// A new group must see what was published before it first joined.
		"auto.offset.reset": "earliest",
		"fetch.wait.max.ms": int(max(fetchWait.Milliseconds(), 1)),
		"fetch.min.bytes":   fetchMin,
		// 64 MB of prefetched records per member by default is more than needed.
		"queued.max.messages.kbytes": 16 << 10,
	} {
		m[k] = v
	}
	return &m
}

// adminConfig is the configuration of the admin client.
func (c Config) adminConfig(logs chan ckafka.LogEvent) *ckafka.ConfigMap {
	m := c.base(logs)
	m["go.events.channel.size"] = 100
	m["go.produce.channel.size"] = 1
	return &m
}

// durationMs formats d in milliseconds, with a fraction when needed
// (librdkafka's linger.ms is a float).
func durationMs(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', -1, 64)
}

// validName reports whether s is a legal Kafka topic name (or part of one).
func validName(s string) bool {
	if len(s) == 0 || len(s) > 249 {
		return false
	}
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '_', r == '-':
		default:
			return false
		}
	}
	return true
}

// checkTopic returns a KindInvalid error unless topic, with the prefix, is a
// legal topic name.
func (c Config) checkTopic(topic string) error {
	if !validName(c.TopicPrefix+topic) || topic == "" {
		return domain.Errorf(domain.KindInvalid, "kafka: invalid topic name %q", topic)
	}
	return nil
}

// sleep waits d or until ctx ends, and reports whether the full d elapsed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
