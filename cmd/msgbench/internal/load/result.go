package load

import (
	"fmt"
	"maps"
	"math"
	"time"

	"github.com/messenger-go/messenger/cmd/msgbench/internal/report"
)

// stepResult measures a finished step.
func (b *Bench) stepResult(st *stepState, drained time.Duration) report.Step {
	c := st.count()
	st.mu.Lock()
	sendSum, delSum := st.send.Summary(), st.delivery.Summary()
	sendSeries, delSeries := st.send.Series(), st.delivery.Series()
	errs := maps.Clone(st.errs)
	st.mu.Unlock()

	dur := st.cfg.Duration.Seconds()
	res := report.Step{
		Rate:                  st.cfg.Rate,
		WarmupSeconds:         st.cfg.Warmup.Seconds(),
		DurationSeconds:       dur,
		Scheduled:             st.end - st.first,
		Accepted:              st.accepted.Load(),
		Failed:                st.failed.Load(),
		AcceptedRate:          float64(st.acceptedInWindow.Load()) / dur,
		DeliveredRate:         float64(st.deliveredInWindow.Load()) / dur,
		Send:                  report.FromSummary(sendSum),
		Delivery:              report.FromSummary(delSum),
		WarmupErrors:          st.warmupErrors.Load(),
		Lost:                  c.lost,
		Duplicated:            st.dups.Load(),
		OutOfOrder:            st.late.Load(),
		NotEchoed:             c.notEchoed,
		DeliveredAfterFailure: c.afterFailure,
		DrainSeconds:          drained.Seconds(),
		SocketsHeld:           b.Held(),
	}
	if len(errs) > 0 {
		res.Errors = errs
	}

	seconds := int(math.Ceil(dur))
	res.Series = make([]report.Point, seconds)
	for t := range res.Series {
		p := report.Point{T: t, Lag: -1}
		if t < len(sendSeries) {
			s := sendSeries[t]
			p.Sent, p.SendP50, p.SendP99 = s.Count, report.Ms(s.P50), report.Ms(s.P99)
		}
		if t < len(delSeries) {
			d := delSeries[t]
			p.Delivered, p.DeliveryP50, p.DeliveryP99 = d.Count, report.Ms(d.P50), report.Ms(d.P99)
		}
		res.Series[t] = p
	}

	for _, x := range b.sampler.window(st.windowStart, st.windowEnd) {
		// The newest count the servers gave in the window: on a busy
		// machine a scrape can time out, and one missed sample is no reason
		// to report no sockets.
		if x.sockOK {
			res.ServerSockets = x.sockets
		}
		if !x.lagOK {
			continue
		}
		res.LagAvailable = true
		res.LagMax = max(res.LagMax, x.lag)
		res.LagEnd = x.lag
		if t := int(x.at.Sub(st.windowStart) / time.Second); t >= 0 && t < len(res.Series) {
			res.Series[t].Lag = max(res.Series[t].Lag, x.lag)
		}
	}
	res.LagMaxSeconds = res.LagMax / st.cfg.Rate

	// CPU over the window, from the samples around it.
	if s0, s1, ok := b.sampler.bracket(st.windowStart, st.windowEnd); ok {
		if s1.sockOK {
			res.ServerSockets = s1.sockets
		}
		dt := s1.at.Sub(s0.at).Seconds()
		perMsg := func(cores float64) float64 {
			if res.AcceptedRate <= 0 {
				return 0
			}
			return cores / res.AcceptedRate * 1e6
		}
		if s0.serverOK && s1.serverOK {
			res.ServerCPUCores = (s1.server.CPU - s0.server.CPU).Seconds() / dt
			res.ServerCPUPerMessage = perMsg(res.ServerCPUCores)
			if s0.server.Writes >= 0 && s1.server.Writes >= 0 && res.AcceptedRate > 0 {
				res.ServerWritesPerMessage = float64(s1.server.Writes-s0.server.Writes) / dt / res.AcceptedRate
			}
			res.ServerRSS = s1.server.RSS
			if h := s1.held; h > 0 {
				res.RSSPerSocket = float64(s1.server.RSS) / float64(h)
			}
		}
		res.ClientCPUCores = (s1.self.CPU - s0.self.CPU).Seconds() / dt
		for k, w := range b.cfg.Watch {
			if !s0.compOK[k] || !s1.compOK[k] {
				continue
			}
			cores := (s1.comps[k].CPU - s0.comps[k].CPU).Seconds() / dt
			res.Components = append(res.Components, report.Component{
				Name: w.Name, CPUCores: cores, CPUPerMessage: perMsg(cores), RSS: s1.comps[k].RSS,
			})
		}
	}

	res.Saturated, res.SaturationReason = saturated(res, st.cfg.SaturationP99)
	res.SaturationP99 = report.Ms(st.cfg.SaturationP99)
	return res
}

// saturated says whether a step shows the servers not keeping up with the
// rate: fewer answers or deliveries than scheduled, errors, or deliveries so
// late that they are queueing.
func saturated(s report.Step, p99 time.Duration) (bool, string) {
	var errs int64
	for _, n := range s.Errors {
		errs += n
	}
	switch {
	case s.AcceptedRate < 0.95*s.Rate:
		return true, fmt.Sprintf("accepted %.0f/s of %.0f/s", s.AcceptedRate, s.Rate)
	case s.DeliveredRate < 0.95*s.Rate:
		return true, fmt.Sprintf("delivered %.0f/s of %.0f/s", s.DeliveredRate, s.Rate)
	case s.Scheduled > 0 && float64(errs) > 0.01*float64(s.Scheduled):
		return true, fmt.Sprintf("%d errors in %d sends", errs, s.Scheduled)
	case report.Ms(p99) > 0 && s.Delivery.P99 > report.Ms(p99):
		return true, fmt.Sprintf("delivery p99 %.0f ms > %.0f ms", s.Delivery.P99, report.Ms(p99))
	}
	return false, ""
}
