package report

import (
	"fmt"
	"io"
	"slices"
)

// Spread is the median and range of one figure over repeated runs.
type Spread struct {
	N                int
	Median, Min, Max float64
}

// SpreadOf returns the spread of vs (the mean of the middle two for an even
// count); zero for none.
func SpreadOf(vs []float64) Spread {
	if len(vs) == 0 {
		return Spread{}
	}
	s := slices.Clone(vs)
	slices.Sort(s)
	n := len(s)
	med := s[n/2]
	if n%2 == 0 {
		med = (s[n/2-1] + s[n/2]) / 2
	}
	return Spread{N: n, Median: med, Min: s[0], Max: s[n-1]}
}

// format writes the spread as "median [min-max]" with the given number
// of decimals.
func (s Spread) format(decimals int) string {
	if s.N == 0 {
		return "-"
	}
	f := func(v float64) string { return fmt.Sprintf("%.*f", decimals, v) }
	if s.N == 1 {
		return f(s.Median)
	}
	return fmt.Sprintf("%s [%s-%s]", f(s.Median), f(s.Min), f(s.Max))
}

// repeated is the steps of one rate over the runs of one group.
type repeated struct {
	group, sendOver string
	users           int
	rate            float64
	steps           []Step
}

// groups collects the steps of runs that share a Group (runs without one
// are their own group, by label), by rate, in order of first appearance.
func groups(runs []Run) []*repeated {
	var out []*repeated
	index := map[string]*repeated{}
	for _, r := range runs {
		g := r.Group
		if g == "" {
			g = r.Label
		}
		for _, st := range r.Steps {
			key := fmt.Sprintf("%s\x00%g", g, st.Rate)
			rp, ok := index[key]
			if !ok {
				rp = &repeated{group: g, sendOver: r.SendOver, users: r.Users, rate: st.Rate}
				index[key] = rp
				out = append(out, rp)
			}
			rp.steps = append(rp.steps, st)
		}
	}
	return out
}

// of returns the spread of f over the steps.
func (rp *repeated) of(f func(Step) float64) Spread {
	return rp.where(func(Step) bool { return true }, f)
}

// where returns the spread of f over the steps for which ok holds: a step
// without a figure (no delivery in the window, lag not sampled) is left
// out, not counted as zero.
func (rp *repeated) where(ok func(Step) bool, f func(Step) float64) Spread {
	vs := make([]float64, 0, len(rp.steps))
	for _, st := range rp.steps {
		if ok(st) {
			vs = append(vs, f(st))
		}
	}
	return SpreadOf(vs)
}

func sent(s Step) bool      { return s.Send.Count > 0 }
func delivered(s Step) bool { return s.Delivery.Count > 0 }
func lagged(s Step) bool    { return s.LagAvailable }

// writeRepeats writes the table of repeated steps: every figure as the
// median and range over the runs of a group.
func writeRepeats(w io.Writer, runs []Run) {
	reps := groups(runs)
	if len(reps) == 0 {
		return
	}
	fmt.Fprintf(w, "\n## Repeated steps\n\n")
	fmt.Fprintf(w, "Each figure is the median and [range] over the runs of a group (the same configuration run again, alternating with the others). Latencies in ms, over the runs that have them (a step in which nothing was delivered has no delivery latency); lost, errors and saturated are totals and counts over the runs; load is the machine's 1-minute load average at the end of each step.\n\n")
	fmt.Fprintf(w, "| group | sent over | users | rate/s | runs | accepted/s | send p50 | send p95 | delivery p50 | delivery p99 | lag max s | server µs/msg | server writes/msg | server cores | load | errors | lost | saturated |\n")
	fmt.Fprintf(w, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, rp := range reps {
		var errs, lost int64
		sat := 0
		for _, st := range rp.steps {
			errs += errorCount(st)
			lost += st.Lost
			if st.Saturated {
				sat++
			}
		}
		sendOver := rp.sendOver
		if sendOver == "" {
			sendOver = "http"
		}
		fmt.Fprintf(w, "| %s | %s | %d | %.0f | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %d | %d | %d |\n",
			rp.group, sendOver, rp.users, rp.rate, len(rp.steps),
			rp.of(func(s Step) float64 { return s.AcceptedRate }).format(0),
			rp.where(sent, func(s Step) float64 { return s.Send.P50 }).format(1),
			rp.where(sent, func(s Step) float64 { return s.Send.P95 }).format(1),
			rp.where(delivered, func(s Step) float64 { return s.Delivery.P50 }).format(1),
			rp.where(delivered, func(s Step) float64 { return s.Delivery.P99 }).format(1),
			rp.where(lagged, func(s Step) float64 { return s.LagMaxSeconds }).format(2),
			rp.of(func(s Step) float64 { return s.ServerCPUPerMessage }).format(0),
			rp.of(func(s Step) float64 { return s.ServerWritesPerMessage }).format(2),
			rp.of(func(s Step) float64 { return s.ServerCPUCores }).format(2),
			rp.of(func(s Step) float64 { return s.LoadAverage }).format(1),
			errs, lost, sat)
	}
}
