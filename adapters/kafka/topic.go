package kafka

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"sync"
	"time"

	ckafka "github.com/confluentinc/confluent-kafka-go/v2/kafka"

	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
)

// Topics returns the topics to create by default: the guide's, with their
// partition counts (ports.GuideTopics).
func Topics() map[string]int { return ports.GuideTopics() }

// EnsureTopics creates every topic of topics (name -> partitions) and its
// dead-letter topic (ports.DeadLetterTopic, same partition count) that does not
// exist yet, with cfg.ReplicationFactor, cfg.MinInSyncReplicas and
// cfg.TopicPrefix, and waits until
// the cluster's metadata lists them. Existing topics are left as they are (a
// partition count different from the one asked for is logged: adding
// partitions would move keys to other partitions and break their order).
// Errors: KindInvalid for an illegal name or count, KindUnavailable when the
// cluster did not answer before ctx ended.
func EnsureTopics(ctx context.Context, cfg Config, topics map[string]int) error {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return err
	}
	want := make(map[string]int, 2*len(topics)) // wire name -> partitions
	for topic, n := range topics {
		if err := cfg.checkTopic(ports.DeadLetterTopic(topic)); err != nil {
			return err
		}
		if n <= 0 {
			return domain.Errorf(domain.KindInvalid, "kafka: topic %q: %d partitions", topic, n)
		}
		want[cfg.TopicPrefix+topic] = n
		want[cfg.TopicPrefix+ports.DeadLetterTopic(topic)] = n
	}
	if len(want) == 0 {
		return nil
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Minute)
		defer cancel()
	}

	logs := startLogPump(cfg.Logger)
	defer logs.stop()
	admin, closeAdmin, err := newAdmin(cfg, logs)
	if err != nil {
		return err
	}
	defer closeAdmin()

	rf := cfg.ReplicationFactor
	if rf == 0 {
		rf = -1 // the brokers' default.replication.factor
	}
	for {
		missing, err := missingTopics(ctx, admin, want, cfg)
		if err != nil {
			cfg.Logger.Warn("kafka: reading topic metadata", "err", err)
		} else if len(missing) == 0 {
			return nil
		} else if err := createTopics(ctx, admin, missing, want, rf, cfg); err != nil {
			return err
		}
		if !sleep(ctx, 100*time.Millisecond) {
			return domain.Wrap(domain.KindUnavailable, ctx.Err(),
				fmt.Sprintf("kafka: topics %v not ready", slices.Sorted(maps.Keys(want))))
		}
	}
}

// newAdmin returns an admin client and the function that closes it. The
// admin client is derived from a producer because only producers and
// consumers can send librdkafka's logs to a channel.
func newAdmin(cfg Config, logs *logPump) (*ckafka.AdminClient, func(), error) {
	p, err := ckafka.NewProducer(cfg.adminConfig(logs.ch))
	if err != nil {
		return nil, nil, domain.Wrap(domain.KindInvalid, err, "kafka: create admin client")
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for ev := range p.Events() {
			cfg.Logger.Debug("kafka: admin client event", "event", ev.String())
		}
	})
	admin, err := ckafka.NewAdminClientFromProducer(p)
	if err != nil {
		p.Close()
		wg.Wait()
		return nil, nil, domain.Wrap(domain.KindInvalid, err, "kafka: create admin client")
	}
	return admin, func() {
		admin.Close()
		p.Close()
		wg.Wait()
	}, nil
}

// missingTopics returns the topics of want that the metadata does not list
// with a leader for every partition.
func missingTopics(ctx context.Context, admin *ckafka.AdminClient, want map[string]int, cfg Config) ([]string, error) {
	timeout := 5 * time.Second
	if deadline, ok := ctx.Deadline(); ok {
		timeout = max(min(timeout, time.Until(deadline)), time.Millisecond)
	}
	md, err := admin.GetMetadata(nil, true, int(timeout.Milliseconds()))
	if err != nil {
		return nil, err
	}
	var missing []string
	for _, name := range slices.Sorted(maps.Keys(want)) {
		t, ok := md.Topics[name]
		if !ok || t.Error.Code() == ckafka.ErrUnknownTopicOrPart || len(t.Partitions) == 0 {
			missing = append(missing, name)
			continue
		}
		if len(t.Partitions) != want[name] {
			cfg.Logger.Warn("kafka: topic exists with another partition count; leaving it",
				"topic", name, "partitions", len(t.Partitions), "wanted", want[name])
		}
		for _, p := range t.Partitions {
			if p.Leader < 0 || p.Error.Code() != ckafka.ErrNoError {
				missing = append(missing, name) // not ready yet; CreateTopics will say it exists
				break
			}
		}
	}
	return missing, nil
}

func createTopics(ctx context.Context, admin *ckafka.AdminClient, names []string, want map[string]int, rf int, cfg Config) error {
	specs := make([]ckafka.TopicSpecification, 0, len(names))
	for _, name := range names {
		spec := ckafka.TopicSpecification{Topic: name, NumPartitions: want[name], ReplicationFactor: rf}
		if cfg.MinInSyncReplicas > 0 {
			spec.Config = map[string]string{"min.insync.replicas": strconv.Itoa(cfg.MinInSyncReplicas)}
		}
		specs = append(specs, spec)
	}
	results, err := admin.CreateTopics(ctx, specs, ckafka.SetAdminOperationTimeout(10*time.Second))
	if err != nil {
		if ctx.Err() != nil {
			return translate(ctx.Err(), "kafka: create topics")
		}
		cfg.Logger.Warn("kafka: create topics", "err", err)
		return nil // retried by the caller
	}
	var errs []error
	for _, r := range results {
		switch r.Error.Code() {
		case ckafka.ErrNoError:
			cfg.Logger.Info("kafka: created topic", "topic", r.Topic, "partitions", want[r.Topic])
		case ckafka.ErrTopicAlreadyExists:
		case ckafka.ErrInvalidPartitions, ckafka.ErrInvalidReplicationFactor, ckafka.ErrTopicException,
			ckafka.ErrPolicyViolation, ckafka.ErrInvalidConfig, ckafka.ErrInvalidRequest:
			errs = append(errs, domain.Wrap(domain.KindInvalid, r.Error, "kafka: create topic "+r.Topic))
		default:
			cfg.Logger.Warn("kafka: create topic", "topic", r.Topic, "err", r.Error)
		}
	}
	return errors.Join(errs...)
}

// PartitionLeaders returns the node id of the broker leading each partition
// of topic (unprefixed), as the cluster's metadata says now; -1 for a
// partition without a leader. For operators and fault tests.
// Errors: KindUnavailable when the cluster did not answer before ctx ended.
func PartitionLeaders(ctx context.Context, cfg Config, topic string) (map[int32]int32, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	logs := startLogPump(cfg.Logger)
	defer logs.stop()
	admin, closeAdmin, err := newAdmin(cfg, logs)
	if err != nil {
		return nil, err
	}
	defer closeAdmin()
	timeout := 10 * time.Second
	if deadline, ok := ctx.Deadline(); ok {
		timeout = max(min(timeout, time.Until(deadline)), time.Millisecond)
	}
	name := cfg.TopicPrefix + topic
	md, err := admin.GetMetadata(&name, false, int(timeout.Milliseconds()))
	if err != nil {
		return nil, domain.Wrap(domain.KindUnavailable, err, "kafka: metadata of "+topic)
	}
	t, ok := md.Topics[name]
	if !ok || t.Error.Code() != ckafka.ErrNoError {
		return nil, domain.Errorf(domain.KindUnavailable, "kafka: no metadata of %s", topic)
	}
	out := make(map[int32]int32, len(t.Partitions))
	for _, p := range t.Partitions {
		out[p.ID] = p.Leader
	}
	return out, nil
}
