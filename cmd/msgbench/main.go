package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/messenger-go/messenger/cmd/msgbench/internal/load"
	"github.com/messenger-go/messenger/cmd/msgbench/internal/report"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "msgbench:", err)
		os.Exit(1)
	}
}

// options are the command-line flags of a run.
type options struct {
	targets        string
	users          int
	rate           float64
	rates          string
	rateStep       float64
	rateMax        float64
	duration       time.Duration
	warmup         time.Duration
	drain          time.Duration
	satP99         time.Duration
	stopEarly      bool
	keyFile        string
	register       bool
	jsonOut        string
	svgOut         string
	label          string
	serverPIDs     string
	watch          string
	connsOnly      bool
	hold           time.Duration
	clientProcs    int
	sourceIPs      string
	maxInFlight    int
	messageBytes   int
	sendOver       string
	group          string
	ackEvery       time.Duration
	quiet          bool
	logLevel       string
	connsChild     bool
	runID          string
	dialConc       int
	setupConc      int
	sendTimeout    time.Duration
	tokenTTL       time.Duration
	connectTimout  time.Duration
	cpuProfile     string
	pprofDir       string
	metricsTargets string
	afterSetup     string
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "report" {
		return runReport(args[1:], stdout)
	}
	var o options
	fs := flag.NewFlagSet("msgbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.targets, "targets", "http://127.0.0.1:3000", "servers' base URLs, comma-separated; user i uses target i mod n")
	fs.IntVar(&o.users, "users", 200, "users (even: friend pairs), or sockets with -conns-only")
	fs.Float64Var(&o.rate, "rate", 500, "messages per second over all users (one step)")
	fs.StringVar(&o.rates, "rates", "", "a ladder of rates, comma-separated, run in turn (overrides -rate)")
	fs.Float64Var(&o.rateStep, "rate-step", 0, "after the ladder, keep adding this to the rate until a step saturates (0: stop)")
	fs.Float64Var(&o.rateMax, "rate-max", 100000, "highest rate -rate-step goes to")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "measured time of each step (with -conns-only: default hold time)")
	fs.DurationVar(&o.warmup, "warmup", 3*time.Second, "time at each step's rate before measuring")
	fs.DurationVar(&o.drain, "drain", 15*time.Second, "after a step, stop waiting for the last deliveries when none came for this long")
	fs.DurationVar(&o.satP99, "saturation-p99", time.Second, "a step whose delivery p99 exceeds this is saturated")
	fs.BoolVar(&o.stopEarly, "stop-early", false, "stop the -rates ladder at its first saturated step (the steps -rate-step adds always stop there)")
	fs.StringVar(&o.keyFile, "key", "", "the servers' signing key (PEM): mint access tokens with it")
	fs.BoolVar(&o.register, "register", true, "create users through /auth/register and befriend them (messages need it)")
	fs.StringVar(&o.jsonOut, "json", "", "write the result as JSON to this file")
	fs.StringVar(&o.svgOut, "svg", "", "write latency over time as SVG to this file")
	fs.StringVar(&o.group, "group", "", "configuration this run repeats: the report gives the median and range over the runs of a group (default: the label)")
	fs.StringVar(&o.label, "label", "", "name of this run in reports (default: the targets)")
	fs.StringVar(&o.serverPIDs, "server-pids", "", "server process ids, comma-separated: CPU per message and memory per socket")
	fs.StringVar(&o.watch, "watch", "", "other process trees to report, name=pid comma-separated (e.g. postgres=123,kafka=456)")
	fs.BoolVar(&o.connsOnly, "conns-only", false, "open -users sockets (users need not exist), hold them, measure memory; send nothing")
	fs.DurationVar(&o.hold, "hold", 0, "with -conns-only: how long to hold the sockets (default -duration)")
	fs.IntVar(&o.clientProcs, "client-procs", 1, "with -conns-only: client processes sharing the sockets (one process may hold 20,000 files)")
	fs.StringVar(&o.sourceIPs, "source-ips", "", "local addresses to connect from, in turn: a list and/or ranges like 127.0.0.2-127.0.0.5")
	fs.IntVar(&o.maxInFlight, "max-inflight", load.DefaultMaxInFlight, "sends in flight at most")
	fs.StringVar(&o.sendOver, "send", load.SendOverHTTP, "how messages are sent: http (POST /messages/send) or socket (a send event on the sender's /ws socket, answered by sendResult)")
	fs.IntVar(&o.messageBytes, "message-bytes", load.DefaultMessageBytes, "length of each message text")
	fs.DurationVar(&o.ackEvery, "ack-every", 0, "acknowledge deliveries on every socket this often (0: never)")
	fs.BoolVar(&o.quiet, "quiet", false, "no progress line")
	fs.StringVar(&o.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&o.runID, "run-id", "", "unique name of the run in emails and message ids (default random)")
	fs.IntVar(&o.dialConc, "dial-concurrency", load.DefaultDialConcurrency, "WebSocket handshakes at once")
	fs.IntVar(&o.setupConc, "setup-concurrency", load.DefaultSetupConcurrency, "register and friend calls at once")
	fs.DurationVar(&o.sendTimeout, "send-timeout", load.DefaultSendTimeout, "a send not answered this long after its intended time fails")
	fs.DurationVar(&o.tokenTTL, "token-ttl", load.DefaultTokenTTL, "lifetime of minted tokens")
	fs.DurationVar(&o.connectTimout, "connect-timeout", 10*time.Minute, "with -conns-only: longest connecting phase")
	fs.StringVar(&o.pprofDir, "pprof-dir", "", "fetch each server's CPU profile (/debug/pprof/profile) over every measured window into this directory")
	fs.StringVar(&o.metricsTargets, "metrics-targets", "", "comma-separated base URLs of the servers' metrics listeners (their MESSENGER_METRICS_ADDR; profiles too with MESSENGER_PPROF), in -targets order; default the targets")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write the generator's own CPU profile to this file")
	fs.StringVar(&o.afterSetup, "after-setup", "", "shell command run (sh -c) once the users, sockets and conversations exist, before the first step; its failure ends the run")
	fs.BoolVar(&o.connsChild, "conns-child", false, "internal: hold sockets for a parent msgbench, status on stdout")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}

	if o.cpuProfile != "" {
		f, err := os.Create(o.cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(o.logLevel)); err != nil {
		return fmt.Errorf("-log-level: %w", err)
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	cfg, err := o.config(logger)
	if err != nil {
		return err
	}
	if !o.quiet && isTerminal(stderr) && !o.connsChild {
		cfg.Progress = stderr
	}
	switch {
	case o.connsChild:
		return runConnsChild(ctx, cfg, os.Stdin, stdout)
	case o.connsOnly:
		return runConns(ctx, o, cfg, stdout, stderr, logger)
	default:
		return runMessages(ctx, o, cfg, stdout, logger)
	}
}

// shellHook runs command with sh -c, its output going to the log.
func shellHook(command string, logger *slog.Logger) func(context.Context) error {
	return func(ctx context.Context) error {
		cmd := exec.CommandContext(ctx, "sh", "-c", command)
		out, err := cmd.CombinedOutput()
		if len(out) > 0 {
			logger.Info("after-setup output", "command", command, "output", strings.TrimSpace(string(out)))
		}
		if err != nil {
			return fmt.Errorf("%q: %w", command, err)
		}
		return nil
	}
}

// config turns the flags into a load.Config.
func (o options) config(logger *slog.Logger) (load.Config, error) {
	cfg := load.Config{
		Users:            o.users,
		Register:         o.register && !o.connsOnly && !o.connsChild,
		TokenTTL:         o.tokenTTL,
		MessageBytes:     o.messageBytes,
		SendOver:         o.sendOver,
		MaxInFlight:      o.maxInFlight,
		SendTimeout:      o.sendTimeout,
		SetupConcurrency: o.setupConc,
		DialConcurrency:  o.dialConc,
		AckEvery:         o.ackEvery,
		RunID:            o.runID,
		ProfileDir:       o.pprofDir,
		MetricsTargets:   splitList(o.metricsTargets),
		Logger:           logger,
	}
	for _, t := range splitList(o.targets) {
		cfg.Targets = append(cfg.Targets, t)
	}
	if o.afterSetup != "" {
		cfg.AfterSetup = shellHook(o.afterSetup, logger)
	}
	if n := len(cfg.MetricsTargets); n > 0 && n != len(cfg.Targets) {
		return cfg, fmt.Errorf("-metrics-targets: %d addresses for %d targets", n, len(cfg.Targets))
	}
	if o.keyFile != "" {
		pem, err := os.ReadFile(o.keyFile)
		if err != nil {
			return cfg, fmt.Errorf("-key: %w", err)
		}
		cfg.KeyPEM = pem
	}
	var err error
	if cfg.ServerPIDs, err = parsePIDs(o.serverPIDs); err != nil {
		return cfg, fmt.Errorf("-server-pids: %w", err)
	}
	if cfg.Watch, err = parseWatch(o.watch); err != nil {
		return cfg, fmt.Errorf("-watch: %w", err)
	}
	if cfg.SourceIPs, err = parseIPs(o.sourceIPs); err != nil {
		return cfg, fmt.Errorf("-source-ips: %w", err)
	}
	if !o.connsOnly && !o.connsChild && !cfg.Register {
		return cfg, errors.New("sending needs registered users: drop -register=false or add -conns-only")
	}
	return cfg, nil
}

// rates is the ladder: -rates, or -rate alone.
func (o options) ladder() ([]float64, error) {
	if o.rates == "" {
		if o.rate <= 0 {
			return nil, errors.New("-rate must be positive")
		}
		return []float64{o.rate}, nil
	}
	var out []float64
	for _, s := range splitList(o.rates) {
		r, err := strconv.ParseFloat(s, 64)
		if err != nil || r <= 0 {
			return nil, fmt.Errorf("-rates: %q is not a positive number", s)
		}
		out = append(out, r)
	}
	return out, nil
}

func runMessages(ctx context.Context, o options, cfg load.Config, stdout io.Writer, logger *slog.Logger) error {
	rates, err := o.ladder()
	if err != nil {
		return err
	}
	b, err := load.New(cfg)
	if err != nil {
		return err
	}
	if err := b.Setup(ctx); err != nil {
		b.Close()
		return fmt.Errorf("setup: %w", err)
	}
	rate := rates[0]
	for i := 0; ctx.Err() == nil; i++ {
		st := b.Step(ctx, load.StepConfig{Rate: rate, Warmup: o.warmup, Duration: o.duration, Drain: o.drain, SaturationP99: o.satP99})
		logger.Info("step done", "rate", st.Rate, "accepted/s", round(st.AcceptedRate), "delivered/s", round(st.DeliveredRate),
			"send_p99_ms", round(st.Send.P99), "delivery_p99_ms", round(st.Delivery.P99), "lost", st.Lost, "dup", st.Duplicated,
			"ooo", st.OutOfOrder, "saturated", st.SaturationReason)
		if st.Saturated && (o.stopEarly || i+1 >= len(rates)) {
			break
		}
		switch {
		case i+1 < len(rates):
			rate = rates[i+1]
		case o.rateStep > 0 && rate+o.rateStep <= o.rateMax:
			rate += o.rateStep
		default:
			rate = 0
		}
		if rate == 0 {
			break
		}
	}
	res := b.Close()
	res.Mode = report.ModeMessages
	res.Label = o.labelOr(cfg)
	res.Group = o.group
	if ctx.Err() != nil {
		res.Notes = append(res.Notes, "interrupted")
	}
	return write(o, res, stdout)
}

func (o options) labelOr(cfg load.Config) string {
	if o.label != "" {
		return o.label
	}
	return strings.Join(cfg.Targets, ",")
}

// write prints the table and writes the JSON and SVG files asked for.
func write(o options, res report.Run, stdout io.Writer) error {
	if err := report.Text(stdout, res); err != nil {
		return err
	}
	if o.jsonOut != "" {
		data, err := json.MarshalIndent(res, "", "  ")
		if err != nil {
			return err
		}
		if err := writeFile(o.jsonOut, append(data, '\n')); err != nil {
			return err
		}
	}
	if o.svgOut != "" && len(res.Steps) > 0 {
		var sb strings.Builder
		if err := report.SVG(&sb, res); err != nil {
			return err
		}
		if err := writeFile(o.svgOut, []byte(sb.String())); err != nil {
			return err
		}
	}
	return nil
}

func writeFile(path string, data []byte) error {
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	return os.WriteFile(path, data, 0o644)
}

func round(f float64) float64 { return float64(int64(f*10+0.5)) / 10 }

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func parsePIDs(s string) ([]int, error) {
	var out []int
	for _, p := range splitList(s) {
		n, err := strconv.Atoi(p)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("%q is not a process id", p)
		}
		out = append(out, n)
	}
	return out, nil
}

func parseWatch(s string) ([]load.Watched, error) {
	var out []load.Watched
	for _, p := range splitList(s) {
		name, pid, ok := strings.Cut(p, "=")
		n, err := strconv.Atoi(pid)
		if !ok || name == "" || err != nil || n <= 0 {
			return nil, fmt.Errorf("%q: want name=pid", p)
		}
		out = append(out, load.Watched{Name: name, PID: n})
	}
	return out, nil
}

// parseIPs reads addresses and IPv4 ranges (a.b.c.d-a.b.c.e).
func parseIPs(s string) ([]net.IP, error) {
	var out []net.IP
	for _, p := range splitList(s) {
		from, to, isRange := strings.Cut(p, "-")
		a := net.ParseIP(from)
		if a == nil {
			return nil, fmt.Errorf("%q is not an address", from)
		}
		if !isRange {
			out = append(out, a)
			continue
		}
		b := net.ParseIP(to)
		a4, b4 := a.To4(), b.To4()
		if a4 == nil || b4 == nil || a4[0] != b4[0] || a4[1] != b4[1] || a4[2] != b4[2] || a4[3] > b4[3] {
			return nil, fmt.Errorf("%q: want an IPv4 range within one /24, like 127.0.0.2-127.0.0.5", p)
		}
		for i := int(a4[3]); i <= int(b4[3]); i++ {
			out = append(out, net.IPv4(a4[0], a4[1], a4[2], byte(i)))
		}
	}
	return out, nil
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
