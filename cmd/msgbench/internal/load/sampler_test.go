package load_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/messenger-go/messenger/cmd/msgbench/internal/load"
)

func TestBracket(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	tests := []struct {
		name        string
		samples     []float64
		from, to    float64
		first, last float64
		ok          bool
	}{
		{"samples around the window", []float64{0, 1, 2, 3, 4, 5}, 1.5, 3.5, 1, 4, true},
		{"samples on the edges", []float64{0, 1, 2, 3}, 1, 2, 1, 2, true},
		{"sparse: none inside", []float64{0, 10}, 2, 5, 0, 10, true},
		{"window before the first sample", []float64{3, 4, 5}, 0, 1, 3, 3, false},
		{"window after the last sample", []float64{0, 1}, 3, 4, 1, 1, false},
		{"started late, ended early", []float64{2, 3}, 1, 5, 2, 3, true},
		{"one sample", []float64{2}, 1, 3, 0, 0, false},
		{"none", nil, 1, 3, 0, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var times []time.Time
			for _, s := range tc.samples {
				times = append(times, at(s))
			}
			first, last, ok := load.BracketForTest(times, at(tc.from), at(tc.to))
			assert.Equal(t, tc.ok, ok)
			if ok {
				assert.Equal(t, at(tc.first), first)
				assert.Equal(t, at(tc.last), last)
			}
		})
	}
}
