package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/messenger-go/messenger/client"
	"github.com/messenger-go/messenger/domain"
)

// repoFile is the path of a file of the repository.
func repoFile(parts ...string) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(append([]string{filepath.Dir(file), "..", ".."}, parts...)...)
}

// dashboard is the part of a Grafana dashboard the tests read.
type dashboard struct {
	UID    string `json:"uid"`
	Panels []struct {
		Type       string `json:"type"`
		Title      string `json:"title"`
		Datasource struct {
			UID string `json:"uid"`
		} `json:"datasource"`
		Targets []struct {
			Expr string `json:"expr"`
		} `json:"targets"`
	} `json:"panels"`
}

// dashboardQueries are the expressions of every panel of the dashboard.
func dashboardQueries(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile(repoFile("deploy", "grafana", "dashboards", "messenger.json"))
	require.NoError(t, err)
	var d dashboard
	require.NoError(t, json.Unmarshal(data, &d), "the dashboard is valid JSON")
	var out []string
	for _, p := range d.Panels {
		if p.Type == "row" {
			continue
		}
		require.NotEmpty(t, p.Targets, "panel %q has a query", p.Title)
		assert.Equal(t, "prometheus", p.Datasource.UID, "panel %q reads the provisioned data source", p.Title)
		for _, q := range p.Targets {
			require.NotEmpty(t, q.Expr, "panel %q", p.Title)
			assert.NotContains(t, q.Expr, "$", "panel %q: no Grafana variables, so that Prometheus can evaluate the query as it is", p.Title)
			out = append(out, q.Expr)
		}
	}
	return out
}

// alertRule is one rule of deploy/prometheus/alerts.yml.
type alertRule struct {
	Alert  string            `yaml:"alert"`
	Expr   string            `yaml:"expr"`
	Labels map[string]string `yaml:"labels"`
}

func alertRules(t *testing.T) []alertRule {
	t.Helper()
	data, err := os.ReadFile(repoFile("deploy", "prometheus", "alerts.yml"))
	require.NoError(t, err)
	var f struct {
		Groups []struct {
			Rules []alertRule `yaml:"rules"`
		} `yaml:"groups"`
	}
	require.NoError(t, yaml.Unmarshal(data, &f))
	var out []alertRule
	for _, g := range f.Groups {
		out = append(out, g.Rules...)
	}
	return out
}

// TestMonitoringFiles checks what can be checked without a running
// Prometheus: the dashboard covers what an operator must see, the alerts what
// must page, and promtool accepts the configuration, the rules and the rules'
// unit tests (deploy/prometheus/alerts_test.yml).
func TestMonitoringFiles(t *testing.T) {
	queries := strings.Join(dashboardQueries(t), "\n")
	for what, metric := range map[string]string{
		"sends":                  "messenger_messages_sent_total",
		"deliveries":             "messenger_socket_delivery_latency_seconds_count",
		"end-to-end latency":     "messenger_socket_delivery_latency_seconds_bucket",
		"consumer lag, records":  "messenger_consumer_lag)",
		"consumer lag, seconds":  "messenger_consumer_lag_seconds",
		"dead letters":           "messenger_dead_lettered_total",
		"sockets":                "messenger_open_sockets",
		"redis failovers":        "messenger_redis_master_changes_total",
		"postgres pool":          "messenger_postgres_pool_connections",
		"error rates":            `code=~"5.."`,
		"dependencies and nodes": "messenger_dependency_up",
	} {
		assert.Contains(t, queries, metric, "the dashboard shows %s", what)
	}

	alerts := map[string]alertRule{}
	for _, r := range alertRules(t) {
		alerts[r.Alert] = r
	}
	for _, name := range []string{"MessengerConsumerLagHigh", "MessengerDeadLetters", "MessengerHTTP5xxRate", "MessengerNoRedisMaster", "MessengerNodeNotReady", "MessengerNodeDown"} {
		if assert.Contains(t, alerts, name) {
			assert.Equal(t, "page", alerts[name].Labels["severity"], "%s pages", name)
		}
	}

	if testing.Short() {
		return // promtool may have to be installed first
	}
	out, err := exec.Command("bash", repoFile("scripts", "prometheus.sh"), "check").CombinedOutput()
	require.NoError(t, err, "promtool:\n%s", out)
	assert.Contains(t, string(out), "SUCCESS: 8 rules found")
}

// TestComposeMonitoring: the compose stack's Prometheus scrapes both replicas'
// metrics listeners, and Grafana loads the dashboard from the data source it names.
func TestComposeMonitoring(t *testing.T) {
	var c struct {
		Services map[string]struct {
			Environment map[string]string `yaml:"environment"`
			Volumes     []string          `yaml:"volumes"`
		} `yaml:"services"`
	}
	data, err := os.ReadFile(repoFile("docker-compose.yaml"))
	require.NoError(t, err)
	require.NoError(t, yaml.Unmarshal(data, &c))
	for _, name := range []string{"server-1", "server-2"} {
		assert.Equal(t, ":9464", c.Services[name].Environment["MESSENGER_METRICS_ADDR"], "%s's metrics are reachable by Prometheus", name)
	}
	assert.Contains(t, c.Services["prometheus"].Volumes, "./deploy/prometheus/alerts.yml:/etc/prometheus/alerts.yml:ro")
	assert.Contains(t, c.Services["grafana"].Volumes, "./deploy/grafana/dashboards:/var/lib/grafana/dashboards:ro")

	data, err = os.ReadFile(repoFile("deploy", "prometheus", "prometheus.yml"))
	require.NoError(t, err)
	assert.Contains(t, string(data), `targets: ["server-1:9464", "server-2:9464"]`)
	assert.Contains(t, string(data), "job_name: messenger")
	data, err = os.ReadFile(repoFile("deploy", "grafana", "provisioning", "datasources", "prometheus.yml"))
	require.NoError(t, err)
	assert.Contains(t, string(data), "uid: prometheus")
}

// prometheus is a Prometheus server started for one test.
type prometheus struct{ url string }

// startPrometheus runs Debian's Prometheus through scripts/prometheus.sh,
// scraping targets every second and evaluating the alerting rules.
func startPrometheus(t *testing.T, targets ...string) *prometheus {
	t.Helper()
	dir := t.TempDir()
	args := append([]string{repoFile("scripts", "prometheus.sh"), "start", dir, freePort(t)}, targets...)
	out, err := exec.Command("bash", args...).Output()
	var stderr []byte
	if ee, ok := err.(*exec.ExitError); ok {
		stderr = ee.Stderr
	}
	require.NoError(t, err, "%s", stderr)
	t.Cleanup(func() { _ = exec.Command("bash", repoFile("scripts", "prometheus.sh"), "stop", dir).Run() })
	return &prometheus{url: strings.TrimSpace(string(out))}
}

// promResult is an answer of Prometheus' HTTP API.
type promResult struct {
	Status string `json:"status"`
	Error  string `json:"error"`
	Data   struct {
		ResultType string            `json:"resultType"`
		Result     []json.RawMessage `json:"result"`
	} `json:"data"`
}

// query evaluates expr now.
func (p *prometheus) query(t *testing.T, expr string) promResult {
	t.Helper()
	resp, err := http.Get(p.url + "/api/v1/query?query=" + url.QueryEscape(expr))
	require.NoError(t, err)
	defer resp.Body.Close()
	var r promResult
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&r))
	return r
}

// value is the single value of expr now, or -1 when it has none.
func (p *prometheus) value(t *testing.T, expr string) float64 {
	t.Helper()
	r := p.query(t, expr)
	if r.Status != "success" || len(r.Data.Result) != 1 {
		return -1
	}
	var sample struct {
		Value [2]any `json:"value"`
	}
	require.NoError(t, json.Unmarshal(r.Data.Result[0], &sample))
	var v float64
	_, err := fmt.Sscan(sample.Value[1].(string), &v)
	require.NoError(t, err)
	return v
}

// waitFor polls expr until it is at least want.
func (p *prometheus) waitFor(t *testing.T, expr string, want float64) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		v := p.value(t, expr)
		if v >= want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s is %v after 60s, want at least %v", expr, v, want)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// TestPrometheusScrapesTwoNodes runs a real Prometheus against two real nodes
// under load: every dashboard query and every alert expression evaluates
// without error, those about traffic have data, the rules evaluate cleanly,
// and nothing pages on a healthy stack.
func TestPrometheusScrapesTwoNodes(t *testing.T) {
	s := newStack(t)
	n1, n2 := s.start(t, "node-1"), s.start(t, "node-2")
	prom := startPrometheus(t, strings.TrimPrefix(n1.metrics, "http://"), strings.TrimPrefix(n2.metrics, "http://"))
	prom.waitFor(t, `sum(up{job="messenger"})`, 2)

	// Load: two conversations across the nodes, both sides connected.
	ctx := context.Background()
	alice, bob := register(t, n1.base, "Alice"), register(t, n2.base, "Bob")
	carol, dave := register(t, n2.base, "Carol"), register(t, n1.base, "Dave")
	alice.connect(t, n1.base)
	bob.connect(t, n2.base)
	carol.connect(t, n2.base)
	dave.connect(t, n1.base)
	befriend(t, alice, bob)
	befriend(t, carol, dave)
	const perPair = 150
	for i := range perPair {
		_, err := alice.Send(ctx, client.SendRequest{ReceiverID: bob.id, Message: fmt.Sprint("m", i), ClientMessageID: fmt.Sprint("ab-", i)})
		require.NoError(t, err)
		_, err = carol.Send(ctx, client.SendRequest{ReceiverID: dave.id, Message: fmt.Sprint("m", i), ClientMessageID: fmt.Sprint("cd-", i)})
		require.NoError(t, err)
	}
	got := bob.messages(t, perPair)
	require.Equal(t, domain.Sequence(perPair), got[perPair-1].Sequence)
	dave.messages(t, perPair)

	// Receivers and senders (the echo) each had every message written to a socket.
	prom.waitFor(t, "sum(messenger_messages_sent_total)", 2*perPair)
	prom.waitFor(t, "sum(messenger_socket_delivery_latency_seconds_count)", 4*perPair)
	prom.waitFor(t, "sum(messenger_open_sockets)", 4)

	// Rare events have no series on a healthy stack; everything else has data.
	mayBeEmpty := func(expr string) bool {
		return strings.Contains(expr, "messenger_dead_lettered_total") || strings.Contains(expr, `code=~"5.."`) || strings.Contains(expr, `code=~"[45].."`)
	}
	for _, expr := range dashboardQueries(t) {
		r := prom.query(t, expr)
		if !assert.Equal(t, "success", r.Status, "dashboard query %s: %s", expr, r.Error) {
			continue
		}
		if !mayBeEmpty(expr) {
			assert.NotEmpty(t, r.Data.Result, "dashboard query has no data: %s", expr)
		}
	}
	for _, rule := range alertRules(t) {
		r := prom.query(t, rule.Expr)
		assert.Equal(t, "success", r.Status, "alert %s: %s", rule.Alert, r.Error)
	}
	assert.Greater(t, prom.value(t, `histogram_quantile(0.99, sum by (le) (rate(messenger_socket_delivery_latency_seconds_bucket[1m])))`), 0.0,
		"end-to-end latency is measured")
	assert.Equal(t, 1.0, prom.value(t, `min(messenger_redis_master_known)`), "the Sentinels name a master")

	// The rules themselves: evaluated, healthy, and none pages.
	var rules struct {
		Data struct {
			Groups []struct {
				Rules []struct {
					Name      string `json:"name"`
					Health    string `json:"health"`
					LastError string `json:"lastError"`
					State     string `json:"state"`
					Labels    map[string]string
				} `json:"rules"`
			} `json:"groups"`
		} `json:"data"`
	}
	resp, err := http.Get(prom.url + "/api/v1/rules")
	require.NoError(t, err)
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&rules))
	resp.Body.Close()
	var names []string
	for _, g := range rules.Data.Groups {
		for _, r := range g.Rules {
			names = append(names, r.Name)
			assert.Equal(t, "ok", r.Health, "rule %s: %s", r.Name, r.LastError)
			if r.Labels["severity"] == "page" {
				assert.Equal(t, "inactive", r.State, "%s pages on a healthy stack", r.Name)
			}
		}
	}
	for _, rule := range alertRules(t) {
		assert.True(t, slices.Contains(names, rule.Alert), "Prometheus loaded %s", rule.Alert)
	}
}
