package load

import (
	"fmt"
	"strings"
	"time"

	"github.com/messenger-go/messenger/cmd/msgbench/internal/measure"
)

// progress writes a progress line for st once a second until the returned
// function is called (which also ends the line).
func (b *Bench) progress(st *stepState) (stop func()) {
	w := b.cfg.Progress
	if w == nil {
		return func() {}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	total := st.windowEnd.Sub(st.sched.Start)
	go func() {
		defer close(finished)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				fmt.Fprintln(w)
				return
			case <-b.ctx.Done():
				fmt.Fprintln(w)
				return
			case <-t.C:
			}
			now := time.Now()
			elapsed := now.Sub(st.sched.Start)
			frac := min(max(elapsed.Seconds()/total.Seconds(), 0), 1)
			const width = 24
			bar := strings.Repeat("=", int(frac*width)) + strings.Repeat(" ", width-int(frac*width))
			phase := "warm-up"
			var send, del measure.Summary
			if now.After(st.windowStart) {
				phase = "measure"
				sec := int(now.Sub(st.windowStart)/time.Second) - 1
				st.mu.Lock()
				send, del = st.send.SecondSummary(sec), st.delivery.SecondSummary(sec)
				st.mu.Unlock()
			}
			if now.After(st.windowEnd) {
				phase = "drain"
			}
			lag := "-"
			if x, ok := b.sampler.latest(); ok && x.lagOK {
				lag = fmt.Sprintf("%.0f", x.lag)
			}
			fmt.Fprintf(w, "\r%6.0f/s [%s] %3.0fs/%.0fs %-7s ok %d err %d  send p99 %s  delivery p99 %s  lag %s  sockets %d ",
				st.cfg.Rate, bar, min(elapsed, total).Seconds(), total.Seconds(), phase,
				st.accepted.Load(), st.failed.Load()+st.warmupErrors.Load(),
				short(send.P99), short(del.P99), lag, b.Held())
		}
	}()
	return func() {
		close(done)
		<-finished
	}
}

func short(d time.Duration) string {
	switch {
	case d == 0:
		return "-"
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.1fms", float64(d)/1e6)
	case d < time.Second:
		return fmt.Sprintf("%.0fms", float64(d)/1e6)
	default:
		return fmt.Sprintf("%.1fs", d.Seconds())
	}
}
