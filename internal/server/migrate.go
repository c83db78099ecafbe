package server

import (
	"context"
	"fmt"
	"io"

	"github.com/messenger-go/messenger/adapters/postgres"
)

// migrate applies the database migrations and exits.
func migrate(ctx context.Context, getenv func(string) string, stderr io.Writer) error {
	cfg, err := LoadConfig(getenv)
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	if cfg.DatabaseURL == "" {
		return fmt.Errorf("migrate needs a database: set DB_HOST (and DB_*) or MESSENGER_DATABASE_URL")
	}
	logger := newLogger(cfg, stderr)
	store, err := postgres.Open(ctx, cfg.DatabaseURL, postgres.Config{Logger: logger, Migrate: true})
	if err != nil {
		return err
	}
	logger.Info("migrations applied")
	return store.Close()
}
