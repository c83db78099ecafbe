package load_test

import (
	"context"
	"errors"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/messenger-go/messenger/cmd/msgbench/internal/load"
	"github.com/messenger-go/messenger/cmd/msgbench/internal/report"
)

func TestClientMessageIDRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		run  string
		step int
		idx  int64
	}{
		{"zero", "ab12", 0, 0},
		{"large", "ffffffff", 12, 9_999_999_999},
		{"run id with dashes", "run-7", 3, 42},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id := load.ClientMessageIDForTest(tc.run, tc.step, tc.idx)
			step, idx, ok := load.ParseClientMessageIDForTest(tc.run, id)
			assert.True(t, ok, id)
			assert.Equal(t, tc.step, step)
			assert.Equal(t, tc.idx, idx)
			assert.LessOrEqual(t, len(id), 128, "the server takes clientMessageIds of up to 128 bytes")
		})
	}
}

func TestParseClientMessageIDRejectsOthers(t *testing.T) {
	for name, id := range map[string]string{
		"another run":         "mb.zz.0.1",
		"run id prefix":       "mb.ab123.0.1",
		"another program":     "web-7c1f",
		"missing index":       "mb.ab12.3",
		"negative index":      "mb.ab12.0.-1",
		"not a number":        "mb.ab12.x.1",
		"empty":               "",
		"prefix of the form":  "mb.",
		"trailing characters": "mb.ab12.0.1x",
	} {
		t.Run(name, func(t *testing.T) {
			_, _, ok := load.ParseClientMessageIDForTest("ab12", id)
			assert.False(t, ok)
		})
	}
}

func TestSaturated(t *testing.T) {
	healthy := report.Step{Rate: 1000, Scheduled: 10000, AcceptedRate: 1000, DeliveredRate: 999, Delivery: report.Latency{P99: 20}}
	tests := []struct {
		name   string
		change func(s *report.Step)
		want   bool
	}{
		{"healthy", func(*report.Step) {}, false},
		{"answers fall behind", func(s *report.Step) { s.AcceptedRate = 900 }, true},
		{"deliveries fall behind", func(s *report.Step) { s.DeliveredRate = 940 }, true},
		{"slightly behind is noise", func(s *report.Step) { s.AcceptedRate, s.DeliveredRate = 960, 951 }, false},
		{"errors over 1%", func(s *report.Step) { s.Errors = map[string]int64{"timeout": 101} }, true},
		{"errors under 1%", func(s *report.Step) { s.Errors = map[string]int64{"timeout": 100} }, false},
		{"deliveries queueing", func(s *report.Step) { s.Delivery.P99 = 1500 }, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := healthy
			tc.change(&s)
			got, reason := load.SaturatedForTest(s, time.Second)
			assert.Equal(t, tc.want, got, reason)
			assert.Equal(t, got, reason != "", "a reason exactly when saturated")
		})
	}
}

func TestErrorKind(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{context.DeadlineExceeded, "timeout"},
		{fmt.Errorf("dial: %w", syscall.ECONNREFUSED), "connection refused"},
		{fmt.Errorf("write: %w", syscall.ECONNRESET), "connection reset"},
		{fmt.Errorf("dial: %w", syscall.EADDRNOTAVAIL), "no local port left"},
		{fmt.Errorf("accept: %w", syscall.EMFILE), "too many open files"},
		{errors.New("http_503: failed to WebSocket dial"), "http_503"},
		{errors.New("unexpected EOF"), "connection closed"},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			assert.Equal(t, tc.want, load.ErrorKindForTest(tc.err))
		})
	}
}

// The setup's first messages are recognised as this run's, and never taken
// for a step's message.
func TestOpenMessageID(t *testing.T) {
	id := load.OpenMessageIDForTest("r1", 7)
	assert.True(t, load.IsOpenMessageIDForTest("r1", id))
	assert.False(t, load.IsOpenMessageIDForTest("r2", id), "another run's")
	assert.False(t, load.IsOpenMessageIDForTest("r1", load.ClientMessageIDForTest("r1", 0, 7)), "a step's message")
	_, _, ok := load.ParseClientMessageIDForTest("r1", id)
	assert.False(t, ok, "not a step's message")
}
