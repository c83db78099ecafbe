package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/messenger-go/messenger/cmd/msgbench/internal/load"
	"github.com/messenger-go/messenger/cmd/msgbench/internal/report"
)

// runConns opens -users sockets from -client-procs processes, holds them and
// reports the servers' memory per socket.
func runConns(ctx context.Context, o options, cfg load.Config, stdout, stderr io.Writer, logger *slog.Logger) error {
	if len(cfg.KeyPEM) == 0 {
		return fmt.Errorf("-conns-only needs -key: its users are not registered")
	}
	hold := o.hold
	if hold <= 0 {
		hold = o.duration
	}
	procs := max(o.clientProcs, 1)
	if cfg.Users < 2*procs {
		return fmt.Errorf("-users %d is too few for %d client processes", cfg.Users, procs)
	}
	var holders []load.Holder
	if procs == 1 {
		h, err := load.NewLocalHolder(cfg)
		if err != nil {
			return err
		}
		holders = append(holders, h)
	} else {
		exe, err := os.Executable()
		if err != nil {
			return err
		}
		// Children hold whole friend pairs: the pairs are shared out, so
		// that an even total is held exactly.
		offset, pairs := 0, cfg.Users/2
		for k := 0; k < procs; k++ {
			n := pairs / procs
			if k < pairs%procs {
				n++
			}
			n *= 2
			holders = append(holders, &childHolder{exe: exe, args: o.childArgs(cfg, n, offset, k), stderr: stderr, logger: logger})
			offset += n
		}
	}
	progress := func(string, ...any) {}
	if cfg.Progress != nil {
		progress = func(format string, args ...any) {
			fmt.Fprintf(cfg.Progress, "\r"+format+"          ", args...)
		}
	}
	res := load.MeasureConns(ctx, load.ConnsConfig{
		Targets:        cfg.Targets,
		MetricsTargets: cfg.MetricsTargets,
		ServerPIDs:     cfg.ServerPIDs,
		Hold:           hold,
		ConnectTimeout: o.connectTimout,
		Target:         cfg.Users,
		Progress:       progress,
		Logger:         logger,
	}, holders)
	if cfg.Progress != nil {
		fmt.Fprintln(cfg.Progress)
	}
	for _, h := range holders {
		h.Close()
	}
	run := report.Run{
		Label:   o.labelOr(cfg),
		Mode:    report.ModeConnections,
		Started: time.Now(),
		Targets: cfg.Targets,
		Users:   cfg.Users,
		Conns:   &res,
	}
	if ctx.Err() != nil {
		run.Notes = append(run.Notes, "interrupted")
	}
	return write(o, run, stdout)
}

// childArgs are the flags of client process k, holding n sockets. Its
// targets are rotated by offset so that users spread evenly over the servers.
func (o options) childArgs(cfg load.Config, n, offset, k int) []string {
	t := len(cfg.Targets)
	rot := make([]string, t)
	for i := range cfg.Targets {
		rot[i] = cfg.Targets[(i+offset)%t]
	}
	args := []string{
		"-conns-child",
		"-targets", strings.Join(rot, ","),
		"-users", strconv.Itoa(n),
		"-key", o.keyFile,
		"-dial-concurrency", strconv.Itoa(max(o.dialConc/max(o.clientProcs, 1), 8)),
		"-token-ttl", o.tokenTTL.String(),
		"-log-level", o.logLevel,
		"-run-id", fmt.Sprintf("%sc%d", o.runID, k),
	}
	if o.sourceIPs != "" {
		args = append(args, "-source-ips", o.sourceIPs)
	}
	return args
}

// runConnsChild holds sockets for a parent: it writes its status as a JSON
// line every half second and closes everything when stdin ends.
func runConnsChild(ctx context.Context, cfg load.Config, stdin io.Reader, stdout io.Writer) error {
	h, err := load.NewLocalHolder(cfg)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		_, _ = io.Copy(io.Discard, stdin)
		cancel()
	}()
	h.Start(ctx)
	enc := json.NewEncoder(stdout)
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	for {
		if err := enc.Encode(h.Status()); err != nil {
			break // the parent is gone
		}
		select {
		case <-ctx.Done():
			h.Close()
			_ = enc.Encode(h.Status())
			return nil
		case <-t.C:
		}
	}
	h.Close()
	return nil
}

// childHolder is a client process holding sockets.
type childHolder struct {
	exe    string
	args   []string
	stderr io.Writer
	logger *slog.Logger

	cmd   *exec.Cmd
	stdin io.WriteCloser
	done  chan struct{}

	mu     sync.Mutex
	status load.HolderStatus
	once   sync.Once
}

func (c *childHolder) Start(ctx context.Context) {
	c.done = make(chan struct{})
	c.cmd = exec.Command(c.exe, c.args...)
	c.cmd.Stderr = c.stderr
	stdin, err1 := c.cmd.StdinPipe()
	stdout, err2 := c.cmd.StdoutPipe()
	if err := firstErr(err1, err2); err != nil {
		c.fail(err)
		close(c.done)
		return
	}
	c.stdin = stdin
	if err := c.cmd.Start(); err != nil {
		c.fail(err)
		close(c.done)
		return
	}
	go func() {
		defer close(c.done)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			var s load.HolderStatus
			if err := json.Unmarshal(sc.Bytes(), &s); err != nil {
				continue
			}
			c.mu.Lock()
			c.status = s
			c.mu.Unlock()
		}
		if err := c.cmd.Wait(); err != nil && ctx.Err() == nil {
			c.fail(fmt.Errorf("client process: %w", err))
		}
	}()
	go func() {
		select {
		case <-ctx.Done():
			c.Close()
		case <-c.done:
		}
	}()
}

func (c *childHolder) fail(err error) {
	c.mu.Lock()
	c.status.Err = err.Error()
	c.status.Done = true
	c.mu.Unlock()
}

func (c *childHolder) Status() load.HolderStatus {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.status
}

// Close ends the child (closing its stdin), waiting up to 30 s before
// killing it.
func (c *childHolder) Close() {
	c.once.Do(func() {
		if c.stdin != nil {
			_ = c.stdin.Close()
		}
		if c.cmd == nil || c.cmd.Process == nil {
			return
		}
		select {
		case <-c.done:
		case <-time.After(30 * time.Second):
			c.logger.Warn("client process did not stop; killing it", "pid", c.cmd.Process.Pid)
			_ = c.cmd.Process.Kill()
			<-c.done
		}
	})
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}
