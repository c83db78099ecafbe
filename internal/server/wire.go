package server

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"

	messenger "github.com/messenger-go/messenger"
	"github.com/messenger-go/messenger/adapters/auth"
	"github.com/messenger-go/messenger/app"
	"github.com/messenger-go/messenger/ports"
)

// deps are the adapters chosen for one process, the background work they
// need beside the node, and how to close them.
type deps struct {
	config  messenger.Config
	closers []closer
	runs    []func(ctx context.Context) error
}

// background registers work that runs while the node serves and returns when
// its ctx ends.
func (d *deps) background(run func(ctx context.Context) error) {
	d.runs = append(d.runs, run)
}

// closer closes one client; ctx bounds how long it may take.
type closer struct {
	name  string
	close func(ctx context.Context) error
}

// onClose registers a client to close at shutdown, after those registered
// later.
func (d *deps) onClose(name string, close func(ctx context.Context) error) {
	d.closers = append(d.closers, closer{name, close})
}

// close closes the clients in reverse order of opening, all under ctx, and
// returns every error. A client still closing when ctx ends is left to finish
// on its own: the process is stopping, and one client must not hold it past
// its deadline nor keep the others open.
func (d *deps) close(ctx context.Context) error {
	var errs []error
	for i := len(d.closers) - 1; i >= 0; i-- {
		c := d.closers[i]
		if err := closeWithin(ctx, c.close); err != nil {
			errs = append(errs, fmt.Errorf("close %s: %w", c.name, err))
		}
	}
	return errors.Join(errs...)
}

// closeWithin runs close and waits for it until ctx ends.
func closeWithin(ctx context.Context, close func(ctx context.Context) error) error {
	done := make(chan error, 1)
	go func() { done <- close(ctx) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("not done by the shutdown deadline: %w", ctx.Err())
	}
}

// ignoreContext adapts a Close that takes no context.
func ignoreContext(close func() error) func(context.Context) error {
	return func(context.Context) error { return close() }
}

// wire picks the adapters the configuration asks for: an explicit switch per
// part, memory where nothing is configured.
func wire(ctx context.Context, cfg Config, logger *slog.Logger) (_ *deps, err error) {
	d := &deps{config: messenger.Config{
		Node:              ports.NodeID(cfg.NodeID),
		AllowedOrigins:    cfg.AllowedOrigins,
		RefreshTTL:        cfg.RefreshTokenTTL,
		RefreshReuseGrace: cfg.RefreshReuseGrace,
		TrustedProxies:    cfg.TrustedProxies,
		Guards:            guards(cfg),
		Sockets:           sockets(cfg),
		Logger:            logger,
	}}
	defer func() {
		if err != nil {
			ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
			defer cancel()
			err = errors.Join(err, d.close(ctx))
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
	}, MaxWaiting: cfg.PasswordMaxWaiting})
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
	if err := wireAttachments(ctx, cfg, d, logger); err != nil {
		return nil, err
	}
	if err := wirePush(cfg, d, logger); err != nil {
		return nil, err
	}
	observeChecks(d.metrics(), d.config.Checks)
	if !cfg.Embedded() && (cfg.DatabaseURL == "" || cfg.KafkaBrokers == "") {
		logger.Warn("partly embedded: parts without configuration run in memory and are not shared between nodes")
	}
	return d, nil
}

// guards are the abuse limits as configured. The throttle and the search
// limiter are filled by wireRedis when Redis is configured, so that every node
// counts the same attempts; otherwise the node keeps them in memory.
func guards(cfg Config) app.Guards {
	login := func(free int) ports.Backoff {
		return ports.Backoff{Free: free, Delay: cfg.LoginFirstDelay, MaxDelay: cfg.LoginMaxDelay, Window: cfg.LoginWindow}
	}
	return app.Guards{
		LoginAccount: login(cfg.LoginAccountFreeFailures),
		LoginAddress: login(cfg.LoginAddressFreeFailures),
		Registration: ports.Backoff{Free: cfg.RegistrationsPerAddress, Delay: cfg.RegistrationWindow, MaxDelay: cfg.RegistrationWindow, Window: cfg.RegistrationWindow},
		UserCacheTTL: cfg.UserCacheTTL,
		// Zero turns these off; app reads zero as its default.
		ThrottledDelay: cmp.Or(cfg.ThrottledDelay, -1),
		TypingInterval: cmp.Or(cfg.TypingInterval, -1),
	}
}

// sockets are the WebSocket limits as configured; zero turns a limit off,
// which the library says with a negative value.
func sockets(cfg Config) messenger.SocketLimits {
	return messenger.SocketLimits{
		FrameRate:   float64(cmp.Or(cfg.WSFrameRate, -1)),
		FrameBurst:  cfg.WSFrameBurst,
		PerUser:     cmp.Or(cfg.WSSocketsPerUser, -1),
		ReadTimeout: cfg.WSReadTimeout,
		OpenRate:    float64(cmp.Or(cfg.WSOpenRate, -1)),
		OpenBurst:   cfg.WSOpenBurst,
		// The refusals of opens are held back as the throttles' are.
		RefusalDelay: cmp.Or(cfg.ThrottledDelay, -1),
	}
}
