package report

import (
	"fmt"
	"io"
	"strings"
)

// Targets the project set itself for one machine with everything on it.
const (
	TargetRateLow       = 2000 // messages/s
	TargetSendP95Low    = 10   // ms, at TargetRateLow
	TargetDeliveryP99   = 50   // ms, at TargetRateLow
	TargetRateHigh      = 5000 // messages/s, sustained
	TargetHighSeconds   = 60
	TargetHighDelivery  = 200 // ms delivery p99 at TargetRateHigh
	TargetHighLagSecond = 1.0
)

// MarkdownOptions configures Markdown.
type MarkdownOptions struct {
	Title    string
	Preamble []string // paragraphs written under the title
	Runs     []Run
	// Image returns the path of a run's latency plot relative to the report,
	// or "" for none.
	Image func(r Run) string
}

// Markdown writes a report over several runs: every step in one table, the
// project's targets checked, the cost per component, connections-only runs,
// and the plots.
func Markdown(w io.Writer, o MarkdownOptions) error {
	p := func(format string, args ...any) { fmt.Fprintf(w, format, args...) }
	p("# %s\n\n", o.Title)
	for _, para := range o.Preamble {
		p("%s\n\n", para)
	}

	var msgRuns, connRuns []Run
	for _, r := range o.Runs {
		if r.Conns != nil {
			connRuns = append(connRuns, r)
		}
		if len(r.Steps) > 0 {
			msgRuns = append(msgRuns, r)
		}
	}

	if len(msgRuns) > 0 {
		p("## Highest rate sustained\n\n")
		p("A step is sustained when the servers answered and delivered at least 95%% of the target rate, errors stayed under 1%% and delivery p99 stayed under the saturation bound (1 s unless the run said otherwise); the highest sustained rate is the highest one below the first saturated step.\n\n")
		p("| run | users | sockets | highest sustained/s | first saturated step |\n|---|---:|---:|---:|---|\n")
		for _, r := range msgRuns {
			sat := "none (ladder ended)"
			for _, st := range r.Steps {
				if st.Saturated {
					sat = fmt.Sprintf("%.0f/s: %s", st.Rate, st.SaturationReason)
					break
				}
			}
			p("| %s | %d | %d | %.0f | %s |\n", r.Label, r.Users, r.Setup.SocketsHeld, r.HighestSustained, sat)
		}
		p("\n## Targets\n\n")
		var rows []string
		for _, r := range msgRuns {
			for _, c := range checks(r) {
				rows = append(rows, fmt.Sprintf("| %s | %s | %s | %s |\n", r.Label, c.name, c.figures, c.verdict))
			}
		}
		if len(rows) == 0 {
			p("No step ran at %d/s or %d/s, the rates the targets are set for.\n", TargetRateLow, TargetRateHigh)
		} else {
			p("| run | check | figures | result |\n|---|---|---|---|\n%s", strings.Join(rows, ""))
		}

		writeRepeats(w, msgRuns)

		p("\n## Every step\n\n")
		p("Latencies in ms, from the intended send time (open loop). Send: until the 202. Delivery: until `newMessage` on the receiver's socket. ")
		p("Lost, dup and ooo count every message of the step, warm-up included (each must be 0). Lag: records behind in message-delivery-group, summed over nodes, max over the window (and in seconds at the target rate). CPU per message sums every server process.\n\n")
		p("| run | users | rate/s | accepted/s | delivered/s | send p50 | p95 | p99 | max | delivery p50 | p95 | p99 | max | errors | lost | dup | ooo | lag max | server cores | server µs/msg | generator cores | saturated |\n")
		p("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n")
		for _, r := range msgRuns {
			for _, st := range r.Steps {
				sat := ""
				if st.Saturated {
					sat = "yes: " + st.SaturationReason
				}
				p("| %s | %d | %.0f | %.0f | %.0f | %s | %s | %s | %s | %s | %s | %s | %s | %d | %d | %d | %d | %s | %.2f | %.0f | %.2f | %s |\n",
					r.Label, r.Users, st.Rate, st.AcceptedRate, st.DeliveredRate,
					msStr(st.Send.P50), msStr(st.Send.P95), msStr(st.Send.P99), msStr(st.Send.Max),
					msStr(st.Delivery.P50), msStr(st.Delivery.P95), msStr(st.Delivery.P99), msStr(st.Delivery.Max),
					errorCount(st), st.Lost, st.Duplicated, st.OutOfOrder, lagStr(st),
					st.ServerCPUCores, st.ServerCPUPerMessage, st.ClientCPUCores, sat)
			}
		}

		if hasComponents(msgRuns) {
			p("\n## Where the CPU goes\n\n")
			p("CPU per accepted message of each process tree (PostgreSQL with its backends), over the measured window.\n\n")
			p("| run | rate/s | servers µs/msg | components (µs/msg, cores) |\n|---|---:|---:|---|\n")
			for _, r := range msgRuns {
				for _, st := range r.Steps {
					var parts []string
					for _, c := range st.Components {
						parts = append(parts, fmt.Sprintf("%s %.0f (%.2f)", c.Name, c.CPUPerMessage, c.CPUCores))
					}
					comps := strings.Join(parts, ", ")
					if comps == "" {
						comps = "-"
					}
					p("| %s | %.0f | %.0f | %s |\n", r.Label, st.Rate, st.ServerCPUPerMessage, comps)
				}
			}
		}

		var profiled []string
		for _, r := range msgRuns {
			n := 0
			for _, st := range r.Steps {
				n += len(st.Profiles)
			}
			if n > 0 {
				profiled = append(profiled, fmt.Sprintf("%s (%d)", r.Label, n))
			}
		}
		if len(profiled) > 0 {
			p("\nServer CPU profiles of every measured window (`go tool pprof -top FILE`; files listed in each run's JSON): %s.\n", strings.Join(profiled, ", "))
		}

		p("\n## Setup and memory\n\n")
		p("| run | users | register s | friends s | sockets | connect s | connect p99 ms | failed | server RSS per socket | conversations opened s | after-setup hook s |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
		for _, r := range msgRuns {
			s := r.Setup
			p("| %s | %d | %.1f | %.1f | %d | %.1f | %s | %d | %s | %.1f | %.1f |\n", r.Label, r.Users, s.RegisterSeconds, s.FriendSeconds,
				s.SocketsHeld, s.ConnectSeconds, msStr(s.Connect.P99), s.ConnectFailures, bytesStr(s.RSSPerSocketBytes), s.OpenSeconds,
				s.AfterSetupSeconds)
		}
		var errLines []string
		for _, r := range msgRuns {
			for _, st := range r.Steps {
				if len(st.Errors) > 0 || st.WarmupErrors > 0 {
					errLines = append(errLines, fmt.Sprintf("- %s at %.0f/s: %s (warm-up: %d)", r.Label, st.Rate, kinds(st.Errors), st.WarmupErrors))
				}
			}
			if len(r.SocketErrors) > 0 {
				errLines = append(errLines, fmt.Sprintf("- %s sockets: %s; reconnects %d", r.Label, kinds(r.SocketErrors), r.Reconnects))
			}
			if r.MissingSequences > 0 {
				errLines = append(errLines, fmt.Sprintf("- %s: %d sequence numbers missing on receivers", r.Label, r.MissingSequences))
			}
			for _, n := range r.Notes {
				errLines = append(errLines, fmt.Sprintf("- %s: %s", r.Label, n))
			}
		}
		if len(errLines) > 0 {
			p("\n## Errors and notes\n\n%s\n", strings.Join(errLines, "\n"))
		}
	}

	if len(connRuns) > 0 {
		p("\n## Connections only\n\n")
		p("Connect s is the longest time one client process spent opening its sockets (they open theirs at once); setup s adds starting the processes and minting the tokens.\n\n")
		p("| run | asked | held | failed | setup s | connect s | connects/s | servers count | held at end | hold s | server RSS before → after | server per socket | client per socket | server cores holding |\n")
		p("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|\n")
		for _, r := range connRuns {
			c := r.Conns
			p("| %s | %d | %d | %d | %.1f | %.1f | %.0f | %.0f | %d | %.0f | %s → %s | %s | %s | %.2f |\n",
				r.Label, c.Target, c.Held, c.Failed, c.ReadySeconds, c.ConnectSeconds, c.ConnectRate, c.ServerSockets, c.HeldAtEnd, c.HoldSeconds,
				bytesStr(float64(c.ServerRSSBefore)), bytesStr(float64(c.ServerRSSAfter)), bytesStr(c.RSSPerSocket),
				bytesStr(c.ClientRSSPerSocket), c.ServerCPUCoresHolding)
		}
		for _, r := range connRuns {
			if len(r.Conns.Errors) > 0 {
				p("\n%s errors: %s\n", r.Label, kinds(r.Conns.Errors))
			}
		}
	}

	if o.Image != nil {
		var imgs []string
		for _, r := range msgRuns {
			if path := o.Image(r); path != "" {
				imgs = append(imgs, fmt.Sprintf("### %s\n\n![latency over time, %s](%s)\n", r.Label, r.Label, path))
			}
		}
		if len(imgs) > 0 {
			p("\n## Latency over time\n\np50 and p99 per second of send and delivery latency, each step's measured window in turn.\n\n%s", strings.Join(imgs, "\n"))
		}
	}
	return nil
}

func hasComponents(runs []Run) bool {
	for _, r := range runs {
		for _, st := range r.Steps {
			if len(st.Components) > 0 {
				return true
			}
		}
	}
	return false
}

type check struct{ name, figures, verdict string }

// checks evaluates the project's targets on the steps of r that ran at
// their rates.
func checks(r Run) []check {
	var out []check
	for _, st := range r.Steps {
		switch {
		case st.Rate == TargetRateLow:
			ok := st.Send.P95 <= TargetSendP95Low && st.Delivery.P99 <= TargetDeliveryP99 && !st.Saturated
			out = append(out, check{
				name:    fmt.Sprintf("%d/s: send p95 ≤ %d ms, delivery p99 ≤ %d ms", TargetRateLow, TargetSendP95Low, TargetDeliveryP99),
				figures: fmt.Sprintf("send p95 %s ms, delivery p99 %s ms", msStr(st.Send.P95), msStr(st.Delivery.P99)),
				verdict: verdict(ok),
			})
		case st.Rate == TargetRateHigh:
			long := st.DurationSeconds >= TargetHighSeconds
			ok := long && !st.Saturated && st.Delivery.P99 < TargetHighDelivery && st.LagAvailable &&
				st.LagMaxSeconds < TargetHighLagSecond && st.Lost == 0 && st.Duplicated == 0
			fig := fmt.Sprintf("%.0f s, delivered %.0f/s, delivery p99 %s ms, lag %s, lost %d, dup %d",
				st.DurationSeconds, st.DeliveredRate, msStr(st.Delivery.P99), lagStr(st), st.Lost, st.Duplicated)
			v := verdict(ok)
			if !long {
				v += " (step shorter than 60 s)"
			}
			if !st.LagAvailable {
				v += " (no consumer lag: not the Kafka stack)"
			}
			out = append(out, check{
				name: fmt.Sprintf("%d/s for %d s: delivery p99 < %d ms, lag < %.0f s, nothing lost or duplicated",
					TargetRateHigh, TargetHighSeconds, TargetHighDelivery, TargetHighLagSecond),
				figures: fig,
				verdict: v,
			})
		}
	}
	return out
}

func verdict(ok bool) string {
	if ok {
		return "PASS"
	}
	return "FAIL"
}
