package postgres

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/migrations"
)

// Config configures a Store. The zero value is usable.
type Config struct {
	// Logger receives warnings, such as a transaction retried after a
	// deadlock. Nil discards them.
	Logger *slog.Logger
	// MaxConns caps the pool that Open creates; zero keeps pgxpool's default
	// (the larger of 4 and the number of CPUs) or the DSN's pool_max_conns.
	// New ignores it.
	MaxConns int32
	// Migrate makes Open and New apply pending migrations before returning.
	Migrate bool
	// TxRetries is how many times a transaction that PostgreSQL aborted as a
	// deadlock victim or a serialisation failure is run again before the error
	// (KindUnavailable) is returned. Default 5; negative means never.
	TxRetries int
}

// Store implements the messenger's stores on one PostgreSQL database.
type Store struct {
	pool      *pgxpool.Pool
	owned     bool
	log       *slog.Logger
	txRetries int
	closeOnce sync.Once
}

// Open connects to the database at dsn (a PostgreSQL URL or key=value
// string), checks that it answers, and returns a Store that owns the pool:
// Close closes it. Errors: KindInvalid for a malformed dsn or config,
// KindUnavailable when the database cannot be reached.
func Open(ctx context.Context, dsn string, cfg Config) (*Store, error) {
	pc, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, domain.Wrap(domain.KindInvalid, err, "postgres: invalid dsn")
	}
	if cfg.MaxConns < 0 {
		return nil, domain.Errorf(domain.KindInvalid, "postgres: MaxConns must not be negative")
	}
	if cfg.MaxConns > 0 {
		pc.MaxConns = cfg.MaxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, translate(err, "postgres: connect")
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, translate(err, "postgres: connect")
	}
	s, err := New(ctx, pool, cfg)
	if err != nil {
		pool.Close()
		return nil, err
	}
	s.owned = true
	return s, nil
}

// New returns a Store on pool, which the caller keeps owning: Close does not
// close it.
func New(ctx context.Context, pool *pgxpool.Pool, cfg Config) (*Store, error) {
	if pool == nil {
		return nil, domain.Errorf(domain.KindInvalid, "postgres: nil pool")
	}
	s := &Store{pool: pool, log: cfg.Logger, txRetries: cfg.TxRetries}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	switch {
	case cfg.TxRetries == 0:
		s.txRetries = 5
	case cfg.TxRetries < 0:
		s.txRetries = 0
	}
	if cfg.Migrate {
		if err := Migrate(ctx, pool); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Migrate applies the pending migrations of package migrations to the
// database of pool. Several processes may call it at once.
// Errors: KindUnavailable when the database cannot be reached.
func Migrate(ctx context.Context, pool *pgxpool.Pool) error {
	db := stdlib.OpenDBFromPool(pool)
	defer db.Close()
	if err := migrations.Up(ctx, db); err != nil {
		if unavailable(err) {
			return domain.Wrap(domain.KindUnavailable, err, "postgres: migrate: database unavailable")
		}
		return translate(err, "postgres: migrate")
	}
	return nil
}

// Pool returns the connection pool, for health checks and tools.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Ping checks that the database answers. Errors: KindUnavailable.
func (s *Store) Ping(ctx context.Context) error {
	return translate(s.pool.Ping(ctx), "postgres: ping")
}

// Close closes the pool when Open created it. It may be called more than once.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		if s.owned {
			s.pool.Close()
		}
	})
	return nil
}

// inTx runs fn in a transaction with the given options and commits it. A
// transaction aborted as a deadlock victim or a serialisation failure is run
// again, up to the configured number of retries; fn must therefore be safe to
// run more than once.
func (s *Store) inTx(ctx context.Context, what string, opts pgx.TxOptions, fn func(pgx.Tx) error) error {
	for attempt := 0; ; attempt++ {
		err := pgx.BeginTxFunc(ctx, s.pool, opts, fn)
		if err == nil {
			return nil
		}
		if !retryable(err) || attempt >= s.txRetries || ctx.Err() != nil {
			return translate(err, what)
		}
		s.log.WarnContext(ctx, "postgres: transaction retried", "op", what, "attempt", attempt+1, "error", err)
	}
}

// errf builds an internal error for a state the schema should make impossible.
func errf(format string, args ...any) error {
	return domain.Wrap(domain.KindInternal, fmt.Errorf(format, args...), "postgres: inconsistent data")
}
