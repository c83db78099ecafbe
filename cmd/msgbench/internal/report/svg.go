package report

import (
	"fmt"
	"io"
	"math"
	"strings"
)

// SVG draws a run's latency over time: p50 and p99 per second of send and
// delivery latency on a log scale, the steps one after the other, and the
// consumer lag below when it was sampled.
func SVG(w io.Writer, r Run) error {
	const (
		width, left, right = 960, 64, 150
		top, plotH         = 36, 300
		lagTop, lagH       = top + plotH + 64, 90
		minMs, maxMs       = 0.1, 10000.0
	)
	var points []Point
	type mark struct {
		x    int
		rate float64
	}
	var marks []mark
	for _, st := range r.Steps {
		marks = append(marks, mark{len(points), st.Rate})
		points = append(points, st.Series...)
	}
	n := max(len(points), 1)
	plotW := width - left - right
	x := func(i int) float64 { return left + float64(plotW)*(float64(i)+0.5)/float64(n) }
	y := func(ms float64) float64 {
		ms = math.Min(math.Max(ms, minMs), maxMs)
		f := (math.Log10(ms) - math.Log10(minMs)) / (math.Log10(maxMs) - math.Log10(minMs))
		return top + plotH*(1-f)
	}
	hasLag := false
	maxLag := 1.0
	for _, p := range points {
		if p.Lag >= 0 {
			hasLag = true
			maxLag = math.Max(maxLag, p.Lag)
		}
	}
	height := top + plotH + 40
	if hasLag {
		height = lagTop + lagH + 40
	}

	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", width, height, width, height)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&b, `<text x="%d" y="20" font-size="14" font-weight="bold">%s: latency per second (ms, log scale)</text>`+"\n", left, esc(r.Label))
	// Grid and y labels.
	for ms := minMs; ms <= maxMs; ms *= 10 {
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/>`+"\n", left, y(ms), left+plotW, y(ms))
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end" dominant-baseline="middle">%s</text>`+"\n", left-6, y(ms), trimFloat(ms))
	}
	fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#888"/>`+"\n", left, top, plotW, plotH)
	// Step separators.
	for _, m := range marks {
		sx := left + float64(plotW)*float64(m.x)/float64(n)
		bottom := top + plotH
		if hasLag {
			bottom = lagTop + lagH
		}
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#999" stroke-dasharray="4 3"/>`+"\n", sx, top, sx, bottom)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" fill="#555">%.0f/s</text>`+"\n", sx+3, top+14, m.rate)
	}
	series := []struct {
		name, color string
		dash        string
		get         func(Point) (float64, bool)
	}{
		{"send p50", "#6baed6", "", func(p Point) (float64, bool) { return p.SendP50, p.Sent > 0 }},
		{"send p99", "#08519c", "", func(p Point) (float64, bool) { return p.SendP99, p.Sent > 0 }},
		{"delivery p50", "#fd8d3c", "", func(p Point) (float64, bool) { return p.DeliveryP50, p.Delivered > 0 }},
		{"delivery p99", "#a50f15", "", func(p Point) (float64, bool) { return p.DeliveryP99, p.Delivered > 0 }},
	}
	for k, s := range series {
		var pts []string
		flush := func() {
			if len(pts) > 0 {
				fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="1.5" points="%s"/>`+"\n", s.color, strings.Join(pts, " "))
			}
			pts = pts[:0]
		}
		for i, p := range points {
			v, ok := s.get(p)
			if !ok {
				flush()
				continue
			}
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(i), y(v)))
		}
		flush()
		ly := top + 10 + k*18
		fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="2"/>`+"\n", left+plotW+10, ly, left+plotW+30, ly, s.color)
		fmt.Fprintf(&b, `<text x="%d" y="%d" dominant-baseline="middle">%s</text>`+"\n", left+plotW+36, ly, s.name)
	}
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle">seconds of measurement, steps in turn</text>`+"\n", left+plotW/2, top+plotH+28)

	if hasLag {
		ly := func(v float64) float64 { return float64(lagTop+lagH) - float64(lagH)*v/maxLag }
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-weight="bold">consumer lag (records, max %.0f)</text>`+"\n", left, lagTop-6, maxLag)
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#888"/>`+"\n", left, lagTop, plotW, lagH)
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end" dominant-baseline="middle">%.0f</text>`+"\n", left-6, lagTop, maxLag)
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end" dominant-baseline="middle">0</text>`+"\n", left-6, lagTop+lagH)
		var pts []string
		for i, p := range points {
			if p.Lag >= 0 {
				pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(i), ly(p.Lag)))
			}
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="#54278f" stroke-width="1.5" points="%s"/>`+"\n", strings.Join(pts, " "))
	}
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func trimFloat(v float64) string {
	s := fmt.Sprintf("%g", v)
	return s
}

func esc(s string) string {
	r := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;")
	return r.Replace(s)
}
