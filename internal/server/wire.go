package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"

	messenger "github.com/messenger-go/messenger"
	"github.com/messenger-go/messenger/adapters/auth"
	"github.com/messenger-go/messenger/ports"
)

// deps are the adapters chosen for one process and how to close them.
type deps struct {
	config  messenger.Config
	closers []func() error
}

func (d *deps) close() {
	for i := len(d.closers) - 1; i >= 0; i-- {
		_ = d.closers[i]()
	}
}

// wire picks the adapters the configuration asks for: an explicit switch per
// part, memory where nothing is configured.
func wire(ctx context.Context, cfg Config, logger *slog.Logger) (_ *deps, err error) {
	d := &deps{config: messenger.Config{
		Node:              ports.NodeID(cfg.NodeID),
		AllowedOrigins:    cfg.AllowedOrigins,
		RefreshTTL:        cfg.RefreshTokenTTL,
		RefreshReuseGrace: cfg.RefreshReuseGrace,
		Logger:            logger,
	}}
	defer func() {
		if err != nil {
			d.close()
		}
	}()

	tokens := auth.TokenConfig{Issuer: cfg.JWTIssuer, Audience: cfg.JWTAudience, AccessTTL: cfg.AccessTokenTTL}
	if cfg.JWTPrivateKeyFile != "" {
		pem, err := os.ReadFile(cfg.JWTPrivateKeyFile)
		if err != nil {
			return nil, fmt.Errorf("MESSENGER_JWT_PRIVATE_KEY_FILE: %w", err)
		}
		tokens.PrivateKeyPEM = pem
	} else {
		key, err := auth.GenerateKey(2048)
		if err != nil {
			return nil, err
		}
		tokens.PrivateKey = key
		logger.Warn("no MESSENGER_JWT_PRIVATE_KEY_FILE: signing with an ephemeral key; tokens are not valid on other nodes or after a restart")
	}
	if d.config.Signer, err = auth.NewTokens(tokens); err != nil {
		return nil, err
	}

	if cfg.PasswordMemoryKiB < 8 || cfg.PasswordIterations < 1 {
		return nil, errors.New("MESSENGER_PASSWORD_MEMORY_KIB must be at least 8 and MESSENGER_PASSWORD_ITERATIONS at least 1")
	}
	passwords, err := auth.NewPasswords(auth.PasswordConfig{Params: auth.PasswordParams{
		Memory: uint32(cfg.PasswordMemoryKiB), Iterations: uint32(cfg.PasswordIterations),
	}})
	if err != nil {
		return nil, err
	}
	d.config.Passwords = passwords

	if err := wireStore(ctx, cfg, d, logger); err != nil {
		return nil, err
	}
	if err := wireLog(ctx, cfg, d, logger); err != nil {
		return nil, err
	}
	if err := wireRedis(ctx, cfg, d, logger); err != nil {
		return nil, err
	}
	if !cfg.Embedded() && (cfg.DatabaseURL == "" || cfg.KafkaBrokers == "") {
		logger.Warn("partly embedded: parts without configuration run in memory and are not shared between nodes")
	}
	return d, nil
}
