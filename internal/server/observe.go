package server

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	goredis "github.com/redis/go-redis/v9"

	"github.com/messenger-go/messenger/adapters/prometheus"
	"github.com/messenger-go/messenger/ports"
)

// The metrics registered here come from the clients the server wires; the
// node's own (sends, storage, sockets, requests) are registered by the node.
// docs/operations.md lists them all; deploy/prometheus and deploy/grafana use
// them.

// checkTimeout bounds each dependency check of a scrape, as /readyz does.
const checkTimeout = 2 * time.Second

// observePool exports the PostgreSQL pool's state.
func observePool(m *prometheus.Metrics, pool *pgxpool.Pool) {
	m.LabeledGaugeFunc("messenger_postgres_pool_connections", "PostgreSQL pool connections by state (acquired, idle, constructing).", "state",
		func() map[string]float64 {
			s := pool.Stat()
			return map[string]float64{
				"acquired":     float64(s.AcquiredConns()),
				"idle":         float64(s.IdleConns()),
				"constructing": float64(s.ConstructingConns()),
			}
		})
	m.GaugeFunc("messenger_postgres_pool_max_connections", "PostgreSQL pool size limit.", func() float64 { return float64(pool.Stat().MaxConns()) })
	m.CounterFunc("messenger_postgres_pool_acquires_total", "Connections taken from the PostgreSQL pool.", func() float64 { return float64(pool.Stat().AcquireCount()) })
	m.CounterFunc("messenger_postgres_pool_empty_acquires_total", "Acquires that waited because every PostgreSQL connection was in use.", func() float64 { return float64(pool.Stat().EmptyAcquireCount()) })
	m.CounterFunc("messenger_postgres_pool_acquire_seconds_total", "Time spent waiting for PostgreSQL connections.", func() float64 { return pool.Stat().AcquireDuration().Seconds() })
}

// observeLagSeconds exports the message consumer's lag in time: while records
// wait, how long ago the message this node stored last was sent (the records
// behind it are younger, so this bounds their wait from above); 0 when none
// wait. Before the node stored anything, the wait counts from its start.
func observeLagSeconds(m *prometheus.Metrics, group string, lag func() map[string]int64) {
	started := time.Now()
	m.LabeledGaugeFunc("messenger_consumer_lag_seconds", "Age of the oldest wait in the message consumer group: since the send of the message stored last, while records wait (partitions owned by this node).", "group",
		func() map[string]float64 {
			if lag()[group] <= 0 {
				return map[string]float64{group: 0}
			}
			last := m.LastStoredSend()
			if last.Before(started) {
				last = started
			}
			return map[string]float64{group: time.Since(last).Seconds()}
		})
}

// observeChecks exports the readiness checks, run at scrape time: 1 for a
// dependency that answers (with a warning or not), 0 for one that does not.
func observeChecks(m *prometheus.Metrics, checks []ports.HealthCheck) {
	if len(checks) == 0 {
		return
	}
	m.LabeledGaugeFunc("messenger_dependency_up", "Whether each dependency answers this node's readiness check (1) or not (0).", "dependency",
		func() map[string]float64 {
			out := make(map[string]float64, len(checks))
			var mu sync.Mutex
			var wg sync.WaitGroup
			for _, c := range checks {
				wg.Go(func() {
					ctx, cancel := context.WithTimeout(context.Background(), checkTimeout)
					defer cancel()
					up := 0.0
					if err := c.Check(ctx); err == nil || errors.As(err, new(*ports.Degraded)) {
						up = 1
					}
					mu.Lock()
					out[c.Name] = up
					mu.Unlock()
				})
			}
			wg.Wait()
			return out
		})
}

// sentinelWatch asks the Sentinels, one after the other until one answers,
// which master they name, and counts the changes: the failovers this node saw.
type sentinelWatch struct {
	clients  []*goredis.SentinelClient
	master   string
	interval time.Duration
	logger   *slog.Logger

	changes atomic.Int64
	named   atomic.Bool // a Sentinel named a master at the last look
}

// defaultSentinelInterval is how often the watch asks; a failover takes
// seconds (down-after plus the election), so one is seen within the next look.
const defaultSentinelInterval = 2 * time.Second

func newSentinelWatch(sentinels []string, master, password string, logger *slog.Logger) *sentinelWatch {
	w := &sentinelWatch{master: master, interval: defaultSentinelInterval, logger: logger}
	for _, addr := range sentinels {
		w.clients = append(w.clients, goredis.NewSentinelClient(&goredis.Options{
			Addr: addr, Password: password, DialTimeout: time.Second, ReadTimeout: time.Second, WriteTimeout: time.Second, MaxRetries: -1,
		}))
	}
	return w
}

// register exports the watch's findings.
func (w *sentinelWatch) register(m *prometheus.Metrics) {
	m.CounterFunc("messenger_redis_master_changes_total", "Changes of the Redis master the Sentinels name, seen by this node (failovers).", func() float64 { return float64(w.changes.Load()) })
	m.GaugeFunc("messenger_redis_master_known", "Whether a Sentinel named a Redis master at the last look (1) or none did (0).", func() float64 {
		if w.named.Load() {
			return 1
		}
		return 0
	})
}

// Run looks until ctx ends, then closes the Sentinel clients.
func (w *sentinelWatch) Run(ctx context.Context) error {
	defer func() {
		for _, c := range w.clients {
			_ = c.Close()
		}
	}()
	t := time.NewTicker(w.interval)
	defer t.Stop()
	var current string
	for {
		addr := w.ask(ctx)
		w.named.Store(addr != "")
		if addr != "" {
			if current != "" && addr != current {
				w.changes.Add(1)
				w.logger.Warn("redis: the Sentinels name a new master", "from", current, "to", addr)
			}
			current = addr
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// ask returns the master's address from the first Sentinel that names one.
func (w *sentinelWatch) ask(ctx context.Context) string {
	for _, c := range w.clients {
		cctx, cancel := context.WithTimeout(ctx, time.Second)
		hostPort, err := c.GetMasterAddrByName(cctx, w.master).Result()
		cancel()
		if err == nil && len(hostPort) == 2 {
			return hostPort[0] + ":" + hostPort[1]
		}
	}
	return ""
}
