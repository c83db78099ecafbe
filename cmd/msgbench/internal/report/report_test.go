package report_test

import (
	"encoding/xml"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/cmd/msgbench/internal/report"
)

func step(rate float64, mutate func(*report.Step)) report.Step {
	s := report.Step{
		Rate: rate, DurationSeconds: 60, Scheduled: int64(rate * 60), Accepted: int64(rate * 60),
		AcceptedRate: rate, DeliveredRate: rate,
		Send:         report.Latency{Count: 10, P50: 1, P95: 4, P99: 8, Max: 20},
		Delivery:     report.Latency{Count: 10, P50: 3, P95: 9, P99: 30, Max: 60},
		LagAvailable: true, LagMax: rate / 10, LagMaxSeconds: 0.1,
		Series: []report.Point{
			{T: 0, Sent: 5, SendP50: 1, SendP99: 5, Delivered: 5, DeliveryP50: 2, DeliveryP99: 9, Lag: 3},
			{T: 1, Sent: 5, SendP50: 1, SendP99: 6, Delivered: 5, DeliveryP50: 2, DeliveryP99: 12, Lag: -1},
		},
	}
	if mutate != nil {
		mutate(&s)
	}
	return s
}

func markdown(t *testing.T, runs ...report.Run) string {
	t.Helper()
	var b strings.Builder
	require.NoError(t, report.Markdown(&b, report.MarkdownOptions{Title: "T", Runs: runs, Image: func(r report.Run) string { return r.Label + ".svg" }}))
	return b.String()
}

func TestMarkdownChecksTargets(t *testing.T) {
	tests := []struct {
		name  string
		steps []report.Step
		want  []string
	}{
		{
			"both pass",
			[]report.Step{step(2000, nil), step(5000, nil)},
			[]string{"| real | 2000/s: send p95 ≤ 10 ms, delivery p99 ≤ 50 ms | send p95 4.00 ms, delivery p99 30.0 ms | PASS |", "nothing lost or duplicated | 60 s, delivered 5000/s, delivery p99 30.0 ms, lag 500 (0.10s), lost 0, dup 0 | PASS |"},
		},
		{
			"slow send fails the low target",
			[]report.Step{step(2000, func(s *report.Step) { s.Send.P95 = 11 })},
			[]string{"send p95 11.0 ms, delivery p99 30.0 ms | FAIL |"},
		},
		{
			"a lost message fails the high target",
			[]report.Step{step(5000, func(s *report.Step) { s.Lost = 1 })},
			[]string{"lost 1, dup 0 | FAIL |"},
		},
		{
			"lag over a second fails",
			[]report.Step{step(5000, func(s *report.Step) { s.LagMaxSeconds = 1.5 })},
			[]string{"| FAIL |"},
		},
		{
			"a short step cannot pass the high target",
			[]report.Step{step(5000, func(s *report.Step) { s.DurationSeconds = 20 })},
			[]string{"FAIL (step shorter than 60 s)"},
		},
		{
			"no lag means not the Kafka stack",
			[]report.Step{step(5000, func(s *report.Step) { s.LagAvailable = false })},
			[]string{"FAIL (no consumer lag: not the Kafka stack)"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			md := markdown(t, report.Run{Label: "real", Mode: report.ModeMessages, Users: 1000, Steps: tc.steps, HighestSustained: tc.steps[0].Rate})
			for _, w := range tc.want {
				assert.Contains(t, md, w)
			}
			assert.Contains(t, md, "![latency over time, real](real.svg)")
		})
	}
}

func TestMarkdownWithoutTargetRates(t *testing.T) {
	md := markdown(t, report.Run{Label: "r", Mode: report.ModeMessages, Steps: []report.Step{step(1000, nil)}})
	assert.Contains(t, md, "No step ran at 2000/s or 5000/s")
	assert.NotContains(t, md, "| run | check |")
}

func TestMarkdownConnections(t *testing.T) {
	md := markdown(t, report.Run{Label: "50k", Mode: report.ModeConnections, Conns: &report.Conns{
		Target: 50000, Held: 49990, Failed: 10, HeldAtEnd: 49990, RSSPerSocket: 20 * 1024,
		ReadySeconds: 40, ConnectSeconds: 25, ConnectRate: 1999.6,
		ServerRSSBefore: 100 << 20, ServerRSSAfter: 1100 << 20, Errors: map[string]int64{"connect: timeout": 10},
	}})
	assert.Contains(t, md, "## Connections only")
	assert.Contains(t, md, "| 50k | 50000 | 49990 | 10 | 40.0 | 25.0 | 2000 |")
	assert.Contains(t, md, "100.0 MiB → 1.07 GiB | 20.0 KiB |")
	assert.Contains(t, md, "connect: timeout ×10")
	assert.NotContains(t, md, "## Every step", "no message steps in a connections run")
}

func TestSVGIsWellFormed(t *testing.T) {
	r := report.Run{Label: `a<b & "c"`, Steps: []report.Step{step(1000, nil), step(2000, nil)}}
	var b strings.Builder
	require.NoError(t, report.SVG(&b, r))
	svg := b.String()

	dec := xml.NewDecoder(strings.NewReader(svg))
	elements := map[string]int{}
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		require.NoError(t, err, "SVG must parse as XML")
		if se, ok := tok.(xml.StartElement); ok {
			elements[se.Name.Local]++
		}
	}
	assert.Equal(t, 1, elements["svg"])
	assert.Equal(t, 5, elements["polyline"], "four latency series and the lag")
	assert.Contains(t, svg, ">1000/s<")
	assert.Contains(t, svg, ">2000/s<")
	assert.Contains(t, svg, "a&lt;b &amp; &quot;c&quot;")
}

func TestText(t *testing.T) {
	var b strings.Builder
	require.NoError(t, report.Text(&b, report.Run{
		Label: "emb", Mode: report.ModeMessages, Users: 200, Targets: []string{"x"},
		Steps: []report.Step{step(500, func(s *report.Step) {
			s.Errors = map[string]int64{"http 503 unavailable": 2}
			s.Saturated, s.SaturationReason = true, "delivered 10/s of 500/s"
		})},
	}))
	out := b.String()
	assert.Contains(t, out, "msgbench emb: 1 target(s), 200 users")
	assert.Contains(t, out, "saturated: delivered 10/s of 500/s")
	assert.Contains(t, out, "http 503 unavailable ×2")
}

func TestSpreadOf(t *testing.T) {
	tests := []struct {
		name string
		in   []float64
		want report.Spread
	}{
		{"none", nil, report.Spread{}},
		{"one", []float64{4}, report.Spread{N: 1, Median: 4, Min: 4, Max: 4}},
		{"odd, unsorted", []float64{9, 1, 5}, report.Spread{N: 3, Median: 5, Min: 1, Max: 9}},
		{"even: mean of the middle two", []float64{8, 2, 4, 6}, report.Spread{N: 4, Median: 5, Min: 2, Max: 8}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, report.SpreadOf(tt.in))
		})
	}
}

// Runs of one group are summed up per rate as median [min-max]; runs of
// another group, and the ungrouped, stay apart.
func TestMarkdownRepeats(t *testing.T) {
	run := func(label, group, over string, p99 float64, lost int64) report.Run {
		return report.Run{Label: label, Group: group, SendOver: over, Users: 1000, Steps: []report.Step{
			step(2000, func(s *report.Step) { s.Delivery.P99, s.Lost, s.LoadAverage = p99, lost, p99/10 }),
		}}
	}
	md := markdown(t,
		run("s1", "socket", "socket", 30, 0), run("h1", "http", "http", 90, 0),
		run("s2", "socket", "socket", 10, 1), run("h2", "http", "http", 70, 0),
		run("s3", "socket", "socket", 20, 2), run("alone", "", "", 5, 0))
	assert.Contains(t, md, "## Repeated steps")
	assert.Contains(t, md, "| socket | socket | 1000 | 2000 | 3 | 2000 [2000-2000] | 1.0 [1.0-1.0] | 4.0 [4.0-4.0] | 3.0 [3.0-3.0] | 20.0 [10.0-30.0] | 0.10 [0.10-0.10] | 0 [0-0] | 0.00 [0.00-0.00] | 0.00 [0.00-0.00] | 2.0 [1.0-3.0] | 0 | 3 | 0 |")
	assert.Contains(t, md, "| http | http | 1000 | 2000 | 2 | 2000 [2000-2000] |")
	assert.Contains(t, md, "| 80.0 [70.0-90.0] |", "two runs: the mean of both")
	assert.Contains(t, md, "| alone | http | 1000 | 2000 | 1 | 2000 | 1.0 | 4.0 | 3.0 | 5.0 | 0.10 | 0 | 0.00 | 0.00 |", "one run: no range")

	// A run that delivered nothing has no delivery latency: it is left out
	// of the spread, not counted as 0.
	none := run("n2", "starved", "socket", 7, 0)
	none.Steps[0].Delivery = report.Latency{}
	md = markdown(t, run("n1", "starved", "socket", 40, 0), none)
	assert.Contains(t, md, "| starved | socket | 1000 | 2000 | 2 | 2000 [2000-2000] | 1.0 [1.0-1.0] | 4.0 [4.0-4.0] | 3.0 | 40.0 |")
}
