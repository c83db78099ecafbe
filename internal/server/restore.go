package server

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"time"

	ckafka "github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/jackc/pgx/v5"

	"github.com/messenger-go/messenger/ports"
)

// restoreOffsets is `messenger restore-offsets`: after PostgreSQL was
// restored to a point in time, it moves the message consumer group back to
// what the restored database holds, so that the messages acknowledged after
// that point are consumed and stored again (duplicates are dropped by their
// idempotency key). Every stored row records its partition and offset; the
// group resumes one past the highest of each partition, or at the start of
// the retained log for a partition the database holds nothing of. The
// servers must be stopped: Kafka refuses to move the offsets of an active
// group. -dry-run prints the offsets without setting them.
func restoreOffsets(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("restore-offsets", flag.ContinueOnError)
	dry := fs.Bool("dry-run", false, "print the offsets, set nothing")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := LoadConfig(getenv)
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	if cfg.DatabaseURL == "" || cfg.KafkaBrokers == "" {
		return errors.New("restore-offsets needs the database (DB_HOST or MESSENGER_DATABASE_URL) and KAFKA_BROKERS")
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()

	stored, err := storedOffsets(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	admin, err := ckafka.NewAdminClient(&ckafka.ConfigMap{"bootstrap.servers": cfg.KafkaBrokers, "client.id": "messenger-restore-offsets"})
	if err != nil {
		return fmt.Errorf("kafka: %w", err)
	}
	defer admin.Close()
	topic := cfg.KafkaPrefix + ports.TopicChatMessages
	group := cfg.KafkaPrefix + ports.GroupMessageDelivery
	md, err := admin.GetMetadata(&topic, false, 10_000)
	if err != nil {
		return fmt.Errorf("kafka: metadata of %s: %w", topic, err)
	}
	meta, ok := md.Topics[topic]
	if !ok || len(meta.Partitions) == 0 {
		return fmt.Errorf("kafka: topic %s has no partitions", topic)
	}

	earliest := map[ckafka.TopicPartition]ckafka.OffsetSpec{}
	for _, p := range meta.Partitions {
		if _, ok := stored[p.ID]; !ok {
			earliest[ckafka.TopicPartition{Topic: &topic, Partition: p.ID}] = ckafka.EarliestOffsetSpec
		}
	}
	if len(earliest) > 0 {
		res, err := admin.ListOffsets(ctx, earliest)
		if err != nil {
			return fmt.Errorf("kafka: earliest offsets: %w", err)
		}
		for tp, info := range res.ResultInfos {
			if info.Error.Code() != ckafka.ErrNoError {
				return fmt.Errorf("kafka: earliest offset of partition %d: %w", tp.Partition, info.Error)
			}
			stored[tp.Partition] = int64(info.Offset)
		}
	}

	parts := make([]ckafka.TopicPartition, 0, len(meta.Partitions))
	for _, p := range meta.Partitions {
		parts = append(parts, ckafka.TopicPartition{Topic: &topic, Partition: p.ID, Offset: ckafka.Offset(stored[p.ID])})
		fmt.Fprintf(stdout, "%s %s[%d] %d\n", group, topic, p.ID, stored[p.ID])
	}
	if *dry {
		return nil
	}
	res, err := admin.AlterConsumerGroupOffsets(ctx, []ckafka.ConsumerGroupTopicPartitions{{Group: group, Partitions: parts}})
	if err != nil {
		return fmt.Errorf("kafka: set the offsets of %s (are the servers stopped?): %w", group, err)
	}
	for _, g := range res.ConsumerGroupsTopicPartitions {
		for _, p := range g.Partitions {
			if p.Error != nil {
				return fmt.Errorf("kafka: partition %d of %s (are the servers stopped?): %w", p.Partition, group, p.Error)
			}
		}
	}
	return nil
}

// storedOffsets is, per chat-messages partition, one past the highest offset
// stored in the database.
func storedOffsets(ctx context.Context, url string) (map[int32]int64, error) {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	rows, err := conn.Query(ctx, `SELECT kafka_partition, max(kafka_offset) + 1 FROM chats
		WHERE kafka_partition IS NOT NULL AND kafka_offset IS NOT NULL GROUP BY kafka_partition`)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	out := map[int32]int64{}
	for rows.Next() {
		var part string
		var next int64
		if err := rows.Scan(&part, &next); err != nil {
			return nil, fmt.Errorf("postgres: %w", err)
		}
		n, err := strconv.ParseInt(part, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("postgres: a row of chats names partition %q", part)
		}
		out[int32(n)] = next
	}
	return out, rows.Err()
}
