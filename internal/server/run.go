package server

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"

	"golang.org/x/sync/errgroup"

	messenger "github.com/messenger-go/messenger"
	"github.com/messenger-go/messenger/adapters/auth"
)

// Run is the messenger binary. args are the command-line arguments without the
// program name; getenv reads the environment. It returns when ctx ends (after a
// graceful shutdown) or on a fatal error.
//
//	messenger                  serve
//	messenger migrate          apply database migrations and exit
//	messenger keygen -out F    write a new RSA signing key to F (PEM) and exit
//	messenger restore-offsets  after a database restore, move the message
//	                           consumer back to what the database holds
func Run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return Serve(ctx, getenv, stderr, nil)
	case "migrate":
		return migrate(ctx, getenv, stderr)
	case "keygen":
		return keygen(args, stdout)
	case "restore-offsets":
		return restoreOffsets(ctx, args, getenv, stdout)
	case "-h", "-help", "--help", "help":
		fmt.Fprintln(stdout, "usage: messenger [serve|migrate|keygen -out FILE|restore-offsets [-dry-run]]")
		return nil
	}
	return fmt.Errorf("unknown command %q (want serve, migrate, keygen or restore-offsets)", cmd)
}

// newLogger returns the process logger as configured.
func newLogger(cfg Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// Listening says where a started server accepts connections.
type Listening struct {
	// Addr is the public listener's host:port: the API, /ws, the probes.
	Addr string
	// TLS is set when Addr serves HTTPS and wss:// itself.
	TLS bool
	// MetricsAddr is the private listener's host:port (/metrics, and
	// /debug/pprof/ when enabled); empty when it is off.
	MetricsAddr string
}

// Serve runs the server until ctx ends, logging to stderr. ready, when set,
// learns where the server listens once it accepts connections.
func Serve(ctx context.Context, getenv func(string) string, stderr io.Writer, ready func(Listening)) error {
	cfg, err := LoadConfig(getenv)
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	logger := newLogger(cfg, stderr)

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	if cfg.NodeID == "" {
		cfg.NodeID = fmt.Sprintf("%s:%d", hostname(), ln.Addr().(*net.TCPAddr).Port)
	}
	logger = logger.With("node", cfg.NodeID)

	d, err := wire(ctx, cfg, logger)
	if err != nil {
		ln.Close()
		return err
	}
	return serve(ctx, cfg, logger, ln, d, ready)
}

// newHTTPServer is the public server: every phase of a request bounded (a
// hijacked WebSocket leaves them behind: net/http clears the connection's
// deadlines when it hands it over), headers capped, TLS from the certificate
// files when configured. HTTP/1.1 only, so that a WebSocket upgrades on any
// connection a browser opens.
func newHTTPServer(cfg Config, h http.Handler, logger *slog.Logger) (*http.Server, error) {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		ReadTimeout:       cfg.ReadTimeout,
		WriteTimeout:      cfg.WriteTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		MaxHeaderBytes:    cfg.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		Protocols:         new(http.Protocols),
	}
	srv.Protocols.SetHTTP1(true)
	if cfg.TLS() {
		certs, err := newCertReloader(cfg.TLSCertFile, cfg.TLSKeyFile, logger)
		if err != nil {
			return nil, err
		}
		srv.TLSConfig = tlsConfig(certs)
	}
	return srv, nil
}

// serve runs the node wired in d on ln until ctx ends or a part of it fails,
// then shuts it down under one deadline, cfg.ShutdownTimeout, in this order:
// stop accepting (and finish the requests in flight), close the WebSockets
// (http.Server.Shutdown does not wait for hijacked connections), stop the
// consumers after their in-flight batch, close the clients. The metrics
// listener answers until the end, so the drain can be watched. ln and d's
// clients are closed on every path, a failed start included; every error met
// on the way is returned.
func serve(ctx context.Context, cfg Config, logger *slog.Logger, ln net.Listener, d *deps, ready func(Listening)) error {
	// A graceful shutdown closes ln first; this covers the failed starts.
	defer ln.Close()
	abort := func(err error) error {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
		defer cancel()
		return errors.Join(err, d.close(sctx))
	}
	m, err := messenger.New(d.config)
	if err != nil {
		return abort(err)
	}
	at := Listening{Addr: ln.Addr().String(), TLS: cfg.TLS()}
	if cfg.MetricsAddr != "" {
		addr, stopMetrics, err := serveMetrics(cfg, m.Metrics().Handler(), logger)
		if err != nil {
			return abort(err)
		}
		defer stopMetrics()
		at.MetricsAddr = addr
	}
	srv, err := newHTTPServer(cfg, m.Handler(), logger)
	if err != nil {
		return abort(err)
	}
	srv.RegisterOnShutdown(m.Drain)
	if cfg.Embedded() {
		logger.Warn("EMBEDDED DEFAULT: in-memory store, log and hub, ephemeral signing key; data is lost on exit and tokens die with the process; configure DB_HOST, KAFKA_BROKERS and REDIS_SENTINEL for production")
	}
	logger.Info("listening", "addr", at.Addr, "tls", at.TLS, "metrics", at.MetricsAddr, "embedded", cfg.Embedded())
	if ready != nil {
		ready(at)
	}

	runCtx, stopRun := context.WithCancel(context.WithoutCancel(ctx))
	defer stopRun()
	g := new(errgroup.Group)
	serveErr := make(chan error, 1)
	g.Go(func() error {
		var err error
		if srv.TLSConfig != nil {
			err = srv.ServeTLS(ln, "", "")
		} else {
			err = srv.Serve(ln)
		}
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		serveErr <- err
		return err
	})
	runErr := make(chan error, 1)
	g.Go(func() error {
		err := m.Run(runCtx)
		runErr <- err
		return err
	})
	for _, run := range d.runs {
		g.Go(func() error { return run(runCtx) })
	}

	var cause error
	select {
	case <-ctx.Done():
		logger.Info("shutting down", "deadline", cfg.ShutdownTimeout)
	case cause = <-serveErr:
		logger.Error("server failed", "err", cause)
	case cause = <-runErr:
		logger.Error("background work failed", "err", cause)
	}

	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
	defer cancel()
	errs := []error{cause}
	if err := srv.Shutdown(sctx); err != nil {
		errs = append(errs, fmt.Errorf("http: %w", err))
		_ = srv.Close() // requests still in flight at the deadline
	}
	if err := m.Shutdown(sctx); err != nil {
		errs = append(errs, fmt.Errorf("sockets and consumers: %w", err))
	}
	stopRun()
	if err := waitWithin(sctx, g); err != nil && !errors.Is(err, cause) && !errors.Is(err, context.Canceled) {
		errs = append(errs, fmt.Errorf("background work: %w", err))
	}
	errs = append(errs, d.close(sctx))
	if err := errors.Join(errs...); err != nil {
		logger.Error("stopped with errors", "err", err)
		return err
	}
	logger.Info("stopped")
	return nil
}

// waitWithin waits for g until ctx ends.
func waitWithin(ctx context.Context, g *errgroup.Group) error {
	return closeWithin(ctx, func(context.Context) error { return g.Wait() })
}

// keygen writes a new RSA signing key.
func keygen(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("keygen", flag.ContinueOnError)
	out := fs.String("out", "", "file to write the PEM key to (default: standard output)")
	bits := fs.Int("bits", 3072, "key size in bits")
	if err := fs.Parse(args); err != nil {
		return err
	}
	key, err := auth.GenerateKey(*bits)
	if err != nil {
		return err
	}
	pem, err := auth.EncodePrivateKeyPEM(key)
	if err != nil {
		return err
	}
	if *out == "" {
		_, err = stdout.Write(pem)
		return err
	}
	if _, err := os.Stat(*out); err == nil {
		fmt.Fprintf(stdout, "%s exists; keeping it\n", *out)
		return nil
	}
	return os.WriteFile(*out, pem, 0o600)
}

// serveMetrics serves /metrics, and the runtime profiles when asked, on the
// private listener, never on the public one. It returns the address it
// listens on and how to stop it. No write timeout: a CPU profile takes as
// long as it was asked to.
func serveMetrics(cfg Config, metrics http.Handler, logger *slog.Logger) (addr string, stop func(), err error) {
	ln, err := net.Listen("tcp", cfg.MetricsAddr)
	if err != nil {
		return "", nil, fmt.Errorf("MESSENGER_METRICS_ADDR: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", metrics)
	if cfg.Pprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		MaxHeaderBytes:    cfg.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	go func() { _ = srv.Serve(ln) }()
	logger.Info("metrics listening", "addr", ln.Addr().String(), "pprof", cfg.Pprof)
	return ln.Addr().String(), func() { _ = srv.Close() }, nil
}
