package measure_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/cmd/msgbench/internal/measure"
)

const exposition = `# HELP messenger_consumer_lag Records not yet processed.
# TYPE messenger_consumer_lag gauge
messenger_consumer_lag{group="message-delivery-group"} 12
messenger_consumer_lag{group="typing-group"} 3
messenger_consumer_lag_seconds 99
# TYPE messenger_open_sockets gauge
messenger_open_sockets 1500
messenger_messages_sent_total{status="ok",node="a"} 7e3
`

func TestScrapeSum(t *testing.T) {
	tests := []struct {
		name   string
		metric string
		want   map[string]string
		sum    float64
		found  bool
	}{
		{"one labelled series", "messenger_consumer_lag", map[string]string{"group": "message-delivery-group"}, 12, true},
		{"every series of a name, not its longer cousin", "messenger_consumer_lag", nil, 15, true},
		{"no labels", "messenger_open_sockets", nil, 1500, true},
		{"exponent and several labels", "messenger_messages_sent_total", map[string]string{"node": "a"}, 7000, true},
		{"label mismatch", "messenger_consumer_lag", map[string]string{"group": "nope"}, 0, false},
		{"absent", "messenger_nothing", nil, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sum, found, err := measure.ScrapeSum(strings.NewReader(exposition), tc.metric, tc.want)
			require.NoError(t, err)
			assert.Equal(t, tc.found, found)
			assert.InDelta(t, tc.sum, sum, 1e-9)
		})
	}
}
