package server

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	messenger "github.com/messenger-go/messenger"
	"github.com/messenger-go/messenger/adapters/kafka"
	"github.com/messenger-go/messenger/adapters/memory"
	"github.com/messenger-go/messenger/adapters/postgres"
	"github.com/messenger-go/messenger/adapters/prometheus"
	"github.com/messenger-go/messenger/adapters/redis"
	"github.com/messenger-go/messenger/ports"
)

// wireStore picks the store: PostgreSQL when configured, else the node's
// memory default.
func wireStore(ctx context.Context, cfg Config, d *deps, logger *slog.Logger) error {
	switch {
	case cfg.DatabaseURL != "":
		store, err := postgres.Open(ctx, cfg.DatabaseURL, postgres.Config{Logger: logger, Migrate: cfg.Migrate})
		if err != nil {
			return fmt.Errorf("postgres: %w", err)
		}
		d.onClose("postgres", ignoreContext(store.Close))
		if err := checkDurability(ctx, cfg, store, logger); err != nil {
			return err
		}
		d.config.Store = withFailpoints(store, logger)
		d.config.Checks = append(d.config.Checks, ports.HealthCheck{Name: "postgres", Check: func(ctx context.Context) error {
			if err := store.Ping(ctx); err != nil {
				return err
			}
			return durabilityWarning(ctx, store)
		}})
		observePool(d.metrics(), store.Pool())
		logger.Info("store: postgres", "migrated", cfg.Migrate)
	default:
		logger.Info("store: memory")
	}
	return nil
}

// kafkaConfig is the Kafka adapter's configuration under cfg.
func kafkaConfig(cfg Config, logger *slog.Logger) kafka.Config {
	kc := kafka.Config{
		Brokers: cfg.KafkaBrokers, ClientID: "messenger-" + cfg.NodeID, TopicPrefix: cfg.KafkaPrefix, Logger: logger,
		Linger: cfg.KafkaLinger, FetchWait: cfg.KafkaFetchWait, BatchMaxWait: cfg.KafkaBatchWait,
		Debug: cfg.KafkaDebug, ReplicationFactor: cfg.KafkaReplicationFactor, MinInSyncReplicas: cfg.KafkaMinInSyncReplicas,
		GroupProtocol: cfg.KafkaGroupProtocol, SessionTimeout: cfg.KafkaSessionTimeout,
		RequestTimeout: cfg.KafkaRequestTimeout, MetadataRefresh: cfg.KafkaMetadataRefresh,
	}
	if cfg.KafkaStaticMembership {
		// A legal Kafka name: the default node id is host:port.
		kc.InstanceID = "messenger-" + strings.Map(func(r rune) rune {
			if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-' {
				return r
			}
			return '-'
		}, cfg.NodeID)
	}
	return kc
}

// wireLog picks the message log: Kafka when configured (topics created when
// missing), else the node's memory default.
func wireLog(ctx context.Context, cfg Config, d *deps, logger *slog.Logger) error {
	switch {
	case cfg.KafkaBrokers != "":
		kc := kafkaConfig(cfg, logger)
		topics := kafka.Topics()
		for t, n := range cfg.KafkaPartitions {
			if _, ok := topics[t]; !ok {
				return fmt.Errorf("MESSENGER_KAFKA_PARTITIONS: unknown topic %q", t)
			}
			topics[t] = n
		}
		if err := kafka.EnsureTopics(ctx, kc, topics); err != nil {
			return fmt.Errorf("kafka topics: %w", err)
		}
		pub, err := kafka.NewPublisher(kc)
		if err != nil {
			return fmt.Errorf("kafka producer: %w", err)
		}
		d.onClose("kafka producer", pub.CloseContext)
		sub, err := kafka.NewSubscriber(kc)
		if err != nil {
			return fmt.Errorf("kafka consumer: %w", err)
		}
		d.onClose("kafka consumers", sub.CloseContext)
		d.config.Log = kafkaLog{pub, sub}
		d.config.Checks = append(d.config.Checks, ports.HealthCheck{Name: "kafka", Check: pub.Ping})
		d.metrics().LabeledGaugeFunc("messenger_consumer_lag", "Records not yet processed, by consumer group (partitions owned by this node).", "group",
			func() map[string]float64 {
				out := map[string]float64{}
				for g, n := range sub.Lag() {
					out[g] = float64(n)
				}
				return out
			})
		observeLagSeconds(d.metrics(), ports.GroupMessageDelivery, sub.Lag)
		logger.Info("log: kafka", "brokers", cfg.KafkaBrokers)
	default:
		logger.Info("log: memory")
	}
	return nil
}

// kafkaLog joins the producer and the consumers into one messenger.Log.
type kafkaLog struct {
	*kafka.Publisher
	*kafka.Subscriber
}

// wireRedis picks presence, cross-node fan-out, the unread cache and the send
// limiter: Redis (through Sentinel, or one address) when configured, else a
// single node with a local hub, no cache and an in-process limiter.
func wireRedis(ctx context.Context, cfg Config, d *deps, logger *slog.Logger) error {
	if !cfg.Redis() {
		search, err := memory.NewRateLimiter(memory.RateLimiterConfig{PerSecond: float64(cfg.SearchRateLimit), Burst: cfg.SearchBurst})
		if err != nil {
			return err
		}
		d.config.Guards.Search = search
		if cfg.SendRateLimit > 0 {
			rl, err := memory.NewRateLimiter(memory.RateLimiterConfig{PerSecond: float64(cfg.SendRateLimit), Burst: cfg.SendRateLimit})
			if err != nil {
				return err
			}
			d.config.RateLimiter = rl
		}
		logger.Info("presence: this node only")
		return nil
	}
	rc := redis.Config{Password: cfg.RedisPassword, KeyPrefix: cfg.RedisKeyPrefix, ClientName: redis.NodeClientName(cfg.NodeID), Logger: logger}
	if len(cfg.RedisSentinels) > 0 {
		rc.MasterName, rc.Sentinels = cfg.RedisMasterName, cfg.RedisSentinels
	} else {
		rc.Addr = cfg.RedisAddr
	}
	client, err := redis.Open(rc)
	if err != nil {
		return fmt.Errorf("redis: %w", err)
	}
	d.onClose("redis", ignoreContext(client.Close))
	if err := client.Ping(ctx); err != nil {
		// Redis only degrades the service: start anyway and let readiness say so.
		logger.Warn("redis does not answer yet; presence, fan-out and caches degrade until it does", "err", err)
	}
	presence, err := redis.NewPresence(client, redis.PresenceConfig{})
	if err != nil {
		return err
	}
	d.config.Presence = presence
	node := ports.NodeID(cfg.NodeID)
	d.config.Fanout = func(local ports.Notifier) (messenger.Fanout, error) {
		return redis.NewFanout(client, redis.FanoutConfig{Node: node, Presence: presence, Local: local})
	}
	if d.config.UnreadCache, err = redis.NewUnreadCache(client, redis.UnreadCacheConfig{}); err != nil {
		return err
	}
	if cfg.SendRateLimit > 0 {
		if d.config.RateLimiter, err = redis.NewRateLimiter(client, redis.RateLimiterConfig{PerSecond: cfg.SendRateLimit, Burst: cfg.SendRateLimit}); err != nil {
			return err
		}
	}
	if d.config.Guards.Throttle, err = redis.NewThrottle(client, redis.ThrottleConfig{}); err != nil {
		return err
	}
	if d.config.Guards.Search, err = redis.NewRateLimiter(client, redis.RateLimiterConfig{PerSecond: cfg.SearchRateLimit, Burst: cfg.SearchBurst}); err != nil {
		return err
	}
	d.config.Checks = append(d.config.Checks, ports.HealthCheck{Name: "redis", Check: client.Ping})
	if len(cfg.RedisSentinels) > 0 {
		watch := newSentinelWatch(cfg.RedisSentinels, cfg.RedisMasterName, "", logger)
		watch.register(d.metrics())
		d.background(watch.Run)
	}
	logger.Info("presence, fan-out, caches: redis", "sentinels", cfg.RedisSentinels, "addr", cfg.RedisAddr)
	return nil
}

// metrics returns the node's registry, creating it on first use.
func (d *deps) metrics() *prometheus.Metrics {
	if d.config.Metrics == nil {
		d.config.Metrics = prometheus.New()
	}
	return d.config.Metrics
}

// checkDurability refuses, with NODE_ENV=production, a database that can lose
// a commit it answered (fsync or synchronous_commit off): the consumer stores
// a partition's offset once its batch committed, so a commit lost in a crash
// is never redelivered and the next messages take its sequence numbers.
// Elsewhere it says so loudly, and /readyz shows it (durabilityWarning).
func checkDurability(ctx context.Context, cfg Config, store *postgres.Store, logger *slog.Logger) error {
	dur, err := store.Durability(ctx)
	if err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	if unsafe := dur.Unsafe(); len(unsafe) > 0 {
		if cfg.Production && !cfg.DBAllowNonDurable {
			return fmt.Errorf("postgres: %s: a crash of the database can lose messages already answered 202; "+
				"refusing to start with NODE_ENV=production (turn them on in postgresql.conf, and drop any role, "+
				"database or connection setting that turns them off)", strings.Join(unsafe, ", "))
		}
		logger.Error("POSTGRES IS NOT CRASH SAFE: a crash of the database can lose messages already answered 202; "+
			"NODE_ENV=production refuses this unless MESSENGER_DB_ALLOW_NON_DURABLE=true", "unsafe", unsafe, "settings", dur.String())
	}
	if risky := dur.Risky(); len(risky) > 0 {
		logger.Warn("postgres: a crash can leave torn pages unless the file system rules them out", "risky", risky)
	}
	return nil
}

// durabilityWarning is the readiness check's part for the settings: a
// database that serves but can lose commits is degraded, not down.
func durabilityWarning(ctx context.Context, store *postgres.Store) error {
	dur, err := store.Durability(ctx)
	if err != nil {
		return err
	}
	if unsafe := dur.Unsafe(); len(unsafe) > 0 {
		return &ports.Degraded{Reason: "not crash safe: " + strings.Join(unsafe, ", ") + "; a crash can lose acknowledged messages"}
	}
	return nil
}
