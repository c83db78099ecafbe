package load

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/messenger-go/messenger/cmd/msgbench/internal/measure"
	"github.com/messenger-go/messenger/cmd/msgbench/internal/report"
)

// Holder opens and holds sockets: a Bench in this process, or a client
// process of the caller's.
type Holder interface {
	// Start begins connecting and returns at once.
	Start(ctx context.Context)
	// Status is the holder's state now: sockets held, sockets that did not
	// open, whether connecting has ended, its memory, and errors by kind.
	Status() HolderStatus
	// Close closes the sockets and waits.
	Close()
}

// HolderStatus is what a Holder reports.
type HolderStatus struct {
	Held   int              `json:"held"`
	Failed int64            `json:"failed"`
	Done   bool             `json:"done"`
	RSS    int64            `json:"rss"`
	Errors map[string]int64 `json:"errors,omitempty"`
	Err    string           `json:"err,omitempty"` // a fatal error
	// ConnectSeconds is the time spent opening sockets, minting tokens
	// before it left out (known once Done).
	ConnectSeconds float64 `json:"connectSeconds,omitempty"`
}

// LocalHolder holds sockets with a Bench of registered strangers in this process.
type LocalHolder struct {
	b    *Bench
	mu   sync.Mutex
	done bool
	err  error
}

// NewLocalHolder returns a holder for cfg: its users are registered, and
// make no friends.
func NewLocalHolder(cfg Config) (*LocalHolder, error) {
	cfg.Register, cfg.Strangers = true, true
	b, err := New(cfg)
	if err != nil {
		return nil, err
	}
	return &LocalHolder{b: b}, nil
}

// Start implements Holder.
func (h *LocalHolder) Start(ctx context.Context) {
	go func() {
		err := h.b.Setup(ctx)
		h.mu.Lock()
		h.done, h.err = true, err
		h.mu.Unlock()
	}()
}

// Status implements Holder.
func (h *LocalHolder) Status() HolderStatus {
	h.mu.Lock()
	done, err := h.done, h.err
	h.mu.Unlock()
	failed, _ := h.b.Connecting()
	st := HolderStatus{Held: h.b.Held(), Failed: failed, Done: done, Errors: h.b.SocketErrors()}
	if err != nil {
		st.Err = err.Error()
	}
	if done {
		st.ConnectSeconds = h.b.Result().Setup.ConnectSeconds
	}
	if s, err := (measure.Proc{Root: h.b.cfg.ProcRoot}).Sample(os.Getpid()); err == nil {
		st.RSS = s.RSS
	}
	return st
}

// Close implements Holder.
func (h *LocalHolder) Close() { h.b.Close() }

// ConnsConfig configures MeasureConns.
type ConnsConfig struct {
	Targets []string
	// MetricsTargets: as Config's.
	MetricsTargets []string
	ServerPIDs     []int
	ProcRoot       string
	// Hold is how long the sockets are held once open.
	Hold time.Duration
	// ConnectTimeout bounds the connecting phase. Default 10 minutes.
	ConnectTimeout time.Duration
	// Target is the number of sockets asked for, for the report.
	Target   int
	Progress func(format string, args ...any)
	Logger   *slog.Logger
}

// MeasureConns starts the holders, waits until they have connected, then
// reads the servers' memory growth and their CPU while holding.
func MeasureConns(ctx context.Context, cfg ConnsConfig, holders []Holder) report.Conns {
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = 10 * time.Minute
	}
	if cfg.ProcRoot == "" {
		cfg.ProcRoot = "/proc"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Progress == nil {
		cfg.Progress = func(string, ...any) {}
	}
	probe := newSampler(Config{Targets: cfg.Targets, MetricsTargets: cfg.MetricsTargets, ServerPIDs: cfg.ServerPIDs, ProcRoot: cfg.ProcRoot},
		&http.Client{Timeout: 5 * time.Second}, func() int { return 0 })
	res := report.Conns{Target: cfg.Target, ClientProcesses: len(holders), Errors: map[string]int64{}}

	before := probe.take(ctx)
	res.ServerRSSBefore = before.server.RSS
	t0 := time.Now()
	for _, h := range holders {
		h.Start(ctx)
	}
	status := func() (sum HolderStatus) {
		sum.Done = true
		for _, h := range holders {
			s := h.Status()
			sum.Held += s.Held
			sum.Failed += s.Failed
			sum.RSS += s.RSS
			sum.Done = sum.Done && s.Done
			sum.ConnectSeconds = max(sum.ConnectSeconds, s.ConnectSeconds)
			if s.Err != "" {
				sum.Err = s.Err
			}
		}
		return sum
	}
	deadline := t0.Add(cfg.ConnectTimeout)
	for ctx.Err() == nil {
		s := status()
		cfg.Progress("connecting: %d of %d held, %d failed, %.0fs", s.Held, cfg.Target, s.Failed, time.Since(t0).Seconds())
		if s.Done || s.Err != "" || time.Now().After(deadline) {
			break
		}
		sleep(ctx, 500*time.Millisecond)
	}
	s := status()
	res.ReadySeconds = time.Since(t0).Seconds()
	res.ConnectSeconds = s.ConnectSeconds
	if res.ConnectSeconds == 0 {
		res.ConnectSeconds = res.ReadySeconds
	}
	res.Held = s.Held
	res.Failed = s.Failed
	if res.ConnectSeconds > 0 {
		res.ConnectRate = float64(s.Held) / res.ConnectSeconds
	}
	if s.Err != "" {
		res.Errors["fatal: "+s.Err]++
	}
	cfg.Logger.Info("sockets open", "held", s.Held, "failed", s.Failed, "seconds", res.ConnectSeconds)

	// Settle (presence writes, buffers), then read memory and hold.
	sleep(ctx, 3*time.Second)
	after := probe.take(ctx)
	res.ServerRSSAfter = after.server.RSS
	res.ServerSockets = after.sockets
	held := status().Held
	if held > 0 && before.serverOK && after.serverOK {
		res.RSSPerSocket = float64(after.server.RSS-before.server.RSS) / float64(held)
	}
	if s := status(); held > 0 {
		res.ClientRSSPerSocket = float64(s.RSS) / float64(held)
	}
	t1 := time.Now()
	for ctx.Err() == nil && time.Since(t1) < cfg.Hold {
		s := status()
		cfg.Progress("holding: %d held, %.0fs of %.0fs", s.Held, time.Since(t1).Seconds(), cfg.Hold.Seconds())
		sleep(ctx, time.Second)
	}
	end := probe.take(ctx)
	res.HoldSeconds = end.at.Sub(after.at).Seconds()
	if res.HoldSeconds > 0 && after.serverOK && end.serverOK {
		res.ServerCPUCoresHolding = (end.server.CPU - after.server.CPU).Seconds() / res.HoldSeconds
	}
	final := status()
	res.HeldAtEnd = final.Held
	for _, h := range holders {
		for k, v := range h.Status().Errors {
			res.Errors[k] += v
		}
	}
	if len(res.Errors) == 0 {
		res.Errors = nil
	}
	return res
}

// String is a one-line summary of a holder status.
func (s HolderStatus) String() string {
	return fmt.Sprintf("held %d failed %d done %v", s.Held, s.Failed, s.Done)
}
