package prometheus_test

import (
	"io"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/adapters/prometheus"
	"github.com/messenger-go/messenger/ports"
)

func TestMetricsExposition(t *testing.T) {
	m := prometheus.New()
	require.True(t, m.LastStoredSend().IsZero(), "nothing stored yet")
	m.MessageSent()
	m.MessageSent()
	m.MessageStored(30 * time.Millisecond)
	assert.WithinDuration(t, time.Now().Add(-30*time.Millisecond), m.LastStoredSend(), time.Second)
	m.Delivered(time.Now().Add(-150 * time.Millisecond))
	var pool float64 = 41
	m.CounterFunc("messenger_test_pool_acquires_total", "Acquires.", func() float64 { return pool })
	m.DeadLettered("chat-messages")
	m.DeliveryStage(ports.StageStore, 4*time.Millisecond)
	m.DeliveryBatch(3)
	m.GaugeFunc("messenger_open_sockets", "Open sockets.", func() float64 { return 7 })
	m.CounterFunc("messenger_ws_sequence_reuses_total", "Reuses.", func() float64 { return 2 })
	m.LabeledGaugeFunc("messenger_consumer_lag", "Lag.", "group", func() map[string]float64 {
		return map[string]float64{"message-delivery-group": 3}
	})

	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	require.Equal(t, 200, rec.Code)
	body, _ := io.ReadAll(rec.Body)
	for _, want := range []string{
		"messenger_messages_sent_total 2",
		"messenger_messages_stored_total 1",
		"messenger_delivery_latency_seconds_count 1",
		`messenger_delivery_latency_seconds_bucket{le="0.05"} 1`,
		`messenger_delivery_latency_seconds_bucket{le="0.025"} 0`,
		`messenger_dead_lettered_total{topic="chat-messages"} 1`,
		"messenger_socket_delivery_latency_seconds_count 1",
		`messenger_socket_delivery_latency_seconds_bucket{le="0.1"} 0`,
		`messenger_socket_delivery_latency_seconds_bucket{le="0.2"} 1`,
		`messenger_delivery_stage_seconds_bucket{stage="store",le="0.003"} 0`,
		`messenger_delivery_stage_seconds_bucket{stage="store",le="0.005"} 1`,
		`messenger_delivery_stage_seconds_count{stage="publish"} 0`,
		`messenger_delivery_batch_records_bucket{le="2"} 0`,
		`messenger_delivery_batch_records_bucket{le="4"} 1`,
		"messenger_test_pool_acquires_total 41",
		"messenger_open_sockets 7",
		"# TYPE messenger_ws_sequence_reuses_total counter",
		"messenger_ws_sequence_reuses_total 2",
		`messenger_consumer_lag{group="message-delivery-group"} 3`,
		"go_goroutines",
	} {
		assert.Contains(t, string(body), want)
	}
}
