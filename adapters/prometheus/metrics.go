package prometheus

import (
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
)

// Metrics implements ports.Metrics on a private registry, served by Handler.
type Metrics struct {
	reg          *prometheus.Registry
	sent         prometheus.Counter
	stored       prometheus.Counter
	latency      prometheus.Histogram
	toSocket     prometheus.Histogram
	deadLettered *prometheus.CounterVec
	requests     *prometheus.HistogramVec
	pushed       *prometheus.CounterVec
	stages       *prometheus.HistogramVec
	batches      prometheus.Histogram

	// lastStoredSend is the send time (Unix nanoseconds) of the message
	// stored last, for the consumer's lag in seconds.
	lastStoredSend atomic.Int64
}

var (
	_ ports.Metrics         = (*Metrics)(nil)
	_ ports.PushMetrics     = (*Metrics)(nil)
	_ ports.DeliveryMetrics = (*Metrics)(nil)
)

// New returns Metrics with the Go runtime and process collectors registered.
func New() *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{
		reg: reg,
		sent: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "messenger_messages_sent_total",
			Help: "Messages accepted by the message log (answered 202).",
		}),
		stored: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "messenger_messages_stored_total",
			Help: "Messages newly stored by the delivery consumer.",
		}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "messenger_delivery_latency_seconds",
			Help:    "Time from a message's send to its storage and hand-off to the notifier.",
			Buckets: latencyBuckets,
		}),
		toSocket: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "messenger_socket_delivery_latency_seconds",
			Help:    "Time from a message's send to the write of its live newMessage frame to a socket of this node, per socket (end to end).",
			Buckets: latencyBuckets,
		}),
		deadLettered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "messenger_dead_lettered_total",
			Help: "Records moved to a dead-letter topic, by source topic.",
		}, []string{"topic"}),
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "messenger_http_request_duration_seconds",
			Help:    "HTTP request durations by method and status code.",
			Buckets: prometheus.DefBuckets,
		}, []string{"method", "code"}),
		pushed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "messenger_push_notifications_total",
			Help: "Push notifications by platform and outcome: sent, unregistered, failed, dead_lettered, dropped; receiver_online counts messages not told because their receiver had a socket open.",
		}, []string{"platform", "outcome"}),
		stages: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "messenger_delivery_stage_seconds",
			Help: "Time spent in each stage of a message's way to the sockets: publish (a send until the log's acknowledgement, per message), " +
				"consume (from the send to the start of the delivery consumer's handling of its batch, per message), " +
				"store (one batch's transaction), announce (handing one batch's events to the sockets and other nodes).",
			Buckets: stageBuckets,
		}, []string{"stage"}),
		batches: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "messenger_delivery_batch_records",
			Help:    "Records in each batch the delivery consumer handles.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 12),
		}),
	}
	for _, s := range []string{ports.StagePublish, ports.StageConsume, ports.StageStore, ports.StageAnnounce} {
		m.stages.WithLabelValues(s) // every stage shows from the start
	}
	reg.MustRegister(m.sent, m.stored, m.latency, m.toSocket, m.deadLettered, m.requests, m.pushed, m.stages, m.batches,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *Metrics) MessageSent() { m.sent.Inc() }

func (m *Metrics) MessageStored(sinceSend time.Duration) {
	m.stored.Inc()
	m.latency.Observe(sinceSend.Seconds())
	m.lastStoredSend.Store(time.Now().Add(-sinceSend).UnixNano())
}

// LastStoredSend is the send time of the message stored last by this node,
// zero before the first.
func (m *Metrics) LastStoredSend() time.Time {
	n := m.lastStoredSend.Load()
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

// Delivered records that a live message sent at sentAt was written to a
// socket; it fits websocket.HandlerConfig.Delivered.
func (m *Metrics) Delivered(sentAt time.Time) { m.toSocket.Observe(time.Since(sentAt).Seconds()) }

func (m *Metrics) DeadLettered(topic string) { m.deadLettered.WithLabelValues(topic).Inc() }

// Pushed implements ports.PushMetrics.
func (m *Metrics) Pushed(platform domain.Platform, outcome string) {
	m.pushed.WithLabelValues(string(platform), outcome).Inc()
}

// DeliveryStage implements ports.DeliveryMetrics.
func (m *Metrics) DeliveryStage(stage string, d time.Duration) {
	m.stages.WithLabelValues(stage).Observe(d.Seconds())
}

// DeliveryBatch implements ports.DeliveryMetrics.
func (m *Metrics) DeliveryBatch(records int) { m.batches.Observe(float64(records)) }

// GaugeFunc registers a gauge whose value is read from f at scrape time, such
// as the number of open sockets.
func (m *Metrics) GaugeFunc(name, help string, f func() float64) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f))
}

// CounterFunc registers a counter whose value is read from f at scrape time,
// such as a total another component keeps.
func (m *Metrics) CounterFunc(name, help string, f func() float64) {
	m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, f))
}

// LabeledGaugeFunc registers gauges under one name whose values per label value
// are read from f at scrape time, such as consumer lag per group.
func (m *Metrics) LabeledGaugeFunc(name, help, label string, f func() map[string]float64) {
	m.reg.MustRegister(&labeledGauge{desc: prometheus.NewDesc(name, help, []string{label}, nil), read: f})
}

// Handler serves the registry in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Instrument wraps h to record request durations.
func (m *Metrics) Instrument(h http.Handler) http.Handler {
	return promhttp.InstrumentHandlerDuration(m.requests, h)
}

// latencyBuckets cover a message's way from a few milliseconds to a backlog.
var latencyBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .2, .5, 1, 2.5, 5, 10, 30, 60}

// stageBuckets resolve the stages of a message's way, from 0.1 ms up.
var stageBuckets = []float64{.0001, .00025, .0005, .001, .002, .003, .005, .0075, .01, .015, .025, .05, .1, .25, .5, 1, 5}

type labeledGauge struct {
	desc *prometheus.Desc
	read func() map[string]float64
}

func (g *labeledGauge) Describe(ch chan<- *prometheus.Desc) { ch <- g.desc }

func (g *labeledGauge) Collect(ch chan<- prometheus.Metric) {
	for label, v := range g.read() {
		ch <- prometheus.MustNewConstMetric(g.desc, prometheus.GaugeValue, v, label)
	}
}
