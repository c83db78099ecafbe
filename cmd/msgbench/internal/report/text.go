package report

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
)

// Text writes a run as a table for a terminal.
func Text(w io.Writer, r Run) error {
	fmt.Fprintf(w, "\nmsgbench %s: %d target(s), %d users\n", r.Label, len(r.Targets), r.Users)
	s := r.Setup
	if r.Mode == ModeMessages {
		fmt.Fprintf(w, "setup: register %.1fs, friends %.1fs, mint %.1fs, sockets %d held (%d failed) in %.1fs, connect p99 %.1f ms, conversations opened in %.1fs",
			s.RegisterSeconds, s.FriendSeconds, s.MintSeconds, s.SocketsHeld, s.ConnectFailures, s.ConnectSeconds, s.Connect.P99, s.OpenSeconds)
		if s.RSSPerSocketBytes != 0 {
			fmt.Fprintf(w, ", server RSS %+.1f KiB per socket", s.RSSPerSocketBytes/1024)
		}
		if s.AfterSetupSeconds != 0 {
			fmt.Fprintf(w, ", after-setup hook %.1fs", s.AfterSetupSeconds)
		}
		fmt.Fprintln(w)
	}
	if len(r.Steps) > 0 {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "rate/s\taccepted/s\tdelivered/s\tsend p50\tp95\tp99\tmax\tdelivery p50\tp95\tp99\tmax\terrors\tlost\tdup\tooo\tlag max\tsrv cores\tsrv µs/msg\tsrv RSS\t")
		for _, st := range r.Steps {
			fmt.Fprintf(tw, "%.0f\t%.0f\t%.0f\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t%d\t%s\t%.2f\t%.0f\t%s\t\n",
				st.Rate, st.AcceptedRate, st.DeliveredRate,
				msStr(st.Send.P50), msStr(st.Send.P95), msStr(st.Send.P99), msStr(st.Send.Max),
				msStr(st.Delivery.P50), msStr(st.Delivery.P95), msStr(st.Delivery.P99), msStr(st.Delivery.Max),
				errorCount(st), st.Lost, st.Duplicated, st.OutOfOrder, lagStr(st),
				st.ServerCPUCores, st.ServerCPUPerMessage, bytesStr(float64(st.ServerRSS)))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		for _, st := range r.Steps {
			var notes []string
			if st.Saturated {
				notes = append(notes, "saturated: "+st.SaturationReason)
			}
			if len(st.Errors) > 0 {
				notes = append(notes, "errors: "+kinds(st.Errors))
			}
			if st.WarmupErrors > 0 {
				notes = append(notes, fmt.Sprintf("%d errors in warm-up", st.WarmupErrors))
			}
			if st.NotEchoed > 0 || st.DeliveredAfterFailure > 0 {
				notes = append(notes, fmt.Sprintf("not echoed to sender %d, delivered after a failed send %d", st.NotEchoed, st.DeliveredAfterFailure))
			}
			for _, c := range st.Components {
				notes = append(notes, fmt.Sprintf("%s %.2f cores %.0f µs/msg %s", c.Name, c.CPUCores, c.CPUPerMessage, bytesStr(float64(c.RSS))))
			}
			if st.ClientCPUCores > 0 {
				notes = append(notes, fmt.Sprintf("generator %.2f cores", st.ClientCPUCores))
			}
			if len(notes) > 0 {
				fmt.Fprintf(w, "  %.0f/s: %s\n", st.Rate, strings.Join(notes, "; "))
			}
		}
		fmt.Fprintf(w, "missing sequences %d, reconnects %d, highest rate sustained %.0f/s\n", r.MissingSequences, r.Reconnects, r.HighestSustained)
	}
	if c := r.Conns; c != nil {
		fmt.Fprintf(w, "connections: %d of %d held (%d failed) in %.1fs (%.0f/s; %.1fs with process start and tokens) by %d client process(es); servers count %.0f; %d held after %.0fs\n",
			c.Held, c.Target, c.Failed, c.ConnectSeconds, c.ConnectRate, c.ReadySeconds, c.ClientProcesses, c.ServerSockets, c.HeldAtEnd, c.HoldSeconds)
		fmt.Fprintf(w, "server RSS %s -> %s: %s per socket; client %s per socket; server CPU holding %.2f cores\n",
			bytesStr(float64(c.ServerRSSBefore)), bytesStr(float64(c.ServerRSSAfter)), bytesStr(c.RSSPerSocket),
			bytesStr(c.ClientRSSPerSocket), c.ServerCPUCoresHolding)
		if len(c.Errors) > 0 {
			fmt.Fprintf(w, "errors: %s\n", kinds(c.Errors))
		}
	}
	if len(r.SocketErrors) > 0 {
		fmt.Fprintf(w, "socket events: %s\n", kinds(r.SocketErrors))
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	return nil
}

func errorCount(s Step) int64 {
	var n int64
	for _, v := range s.Errors {
		n += v
	}
	return n
}

func kinds(m map[string]int64) string {
	keys := slices.Sorted(maps.Keys(m))
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s ×%d", k, m[k])
	}
	return strings.Join(parts, ", ")
}

func msStr(ms float64) string {
	switch {
	case ms == 0:
		return "-"
	case ms < 10:
		return fmt.Sprintf("%.2f", ms)
	case ms < 100:
		return fmt.Sprintf("%.1f", ms)
	default:
		return fmt.Sprintf("%.0f", ms)
	}
}

func lagStr(s Step) string {
	if !s.LagAvailable {
		return "n/a"
	}
	return fmt.Sprintf("%.0f (%.2fs)", s.LagMax, s.LagMaxSeconds)
}

func bytesStr(b float64) string {
	switch {
	case b == 0:
		return "-"
	case b < 0:
		return "-" + bytesStr(-b)
	case b < 1<<10:
		return fmt.Sprintf("%.0f B", b)
	case b < 1<<20:
		return fmt.Sprintf("%.1f KiB", b/(1<<10))
	case b < 1<<30:
		return fmt.Sprintf("%.1f MiB", b/(1<<20))
	default:
		return fmt.Sprintf("%.2f GiB", b/(1<<30))
	}
}
