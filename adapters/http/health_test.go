package http_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	api "github.com/messenger-go/messenger/adapters/http"
	"github.com/messenger-go/messenger/ports"
)

func TestHealthz(t *testing.T) {
	s := newServer(t, func(c *api.Config) {
		c.Checks = []ports.HealthCheck{{Name: "db", Check: func(context.Context) error { return errors.New("down") }}}
	})
	w := s.do(t, request{method: "GET", path: "/healthz"})
	require.Equal(t, http.StatusOK, w.Code, "liveness does not depend on dependencies")
	assert.JSONEq(t, `{"status":"ok"}`, w.Body.String())
}

func TestReadyz(t *testing.T) {
	ok := func(context.Context) error { return nil }
	cases := []struct {
		name   string
		checks []ports.HealthCheck
		status int
		want   string
	}{
		{"no checks", nil, 200, `{"status":"ok","checks":{}}`},
		{"all pass", []ports.HealthCheck{{Name: "postgres", Check: ok}, {Name: "redis", Check: ok}},
			200, `{"status":"ok","checks":{"postgres":"ok","redis":"ok"}}`},
		{"one fails", []ports.HealthCheck{
			{Name: "postgres", Check: ok},
			{Name: "kafka", Check: func(context.Context) error { return errors.New("no brokers") }},
		}, 503, `{"status":"unavailable","checks":{"postgres":"ok","kafka":"no brokers"}}`},
		{"one hangs", []ports.HealthCheck{
			{Name: "postgres", Check: ok},
			{Name: "redis", Check: func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }},
		}, 503, `{"status":"unavailable","checks":{"postgres":"ok","redis":"timed out after 50ms"}}`},
		{"one degraded", []ports.HealthCheck{
			{Name: "postgres", Check: func(context.Context) error { return &ports.Degraded{Reason: "not crash safe: fsync=off"} }},
			{Name: "redis", Check: ok},
		}, 200, `{"status":"ok","checks":{"postgres":"warning: not crash safe: fsync=off","redis":"ok"}}`},
		{"degraded and down", []ports.HealthCheck{
			{Name: "postgres", Check: func(context.Context) error { return &ports.Degraded{Reason: "fsync=off"} }},
			{Name: "kafka", Check: func(context.Context) error { return errors.New("no brokers") }},
		}, 503, `{"status":"unavailable","checks":{"postgres":"warning: fsync=off","kafka":"no brokers"}}`},
		{"one panics", []ports.HealthCheck{{Name: "odd", Check: func(context.Context) error { panic("x") }}},
			503, `{"status":"unavailable","checks":{"odd":"check panicked"}}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// Only the hanging check meets the short timeout: a check that
			// answers must be reported as it answered, however late it ran.
			timeout := time.Minute
			if tc.name == "one hangs" {
				timeout = 50 * time.Millisecond
			}
			s := newServer(t, func(c *api.Config) { c.Checks = tc.checks; c.ReadyTimeout = timeout })
			start := time.Now()
			w := s.do(t, request{method: "GET", path: "/readyz"})
			assert.Less(t, time.Since(start), 10*time.Second, "the answer waits for no check past the timeout")
			require.Equal(t, tc.status, w.Code, w.Body.String())
			assert.JSONEq(t, tc.want, w.Body.String())
		})
	}
}

func TestMetrics(t *testing.T) {
	s := newServer(t, func(c *api.Config) {
		c.Metrics = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			_, _ = w.Write([]byte("messages_sent_total 3\n"))
		})
	})
	w := s.do(t, request{method: "GET", path: "/metrics"})
	require.Equal(t, http.StatusOK, w.Code)
	assert.Equal(t, "messages_sent_total 3\n", w.Body.String())
	assert.Zero(t, s.svc.count("Authenticate"))
}
