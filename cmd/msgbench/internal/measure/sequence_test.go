package measure_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/messenger-go/messenger/cmd/msgbench/internal/measure"
)

func TestStream(t *testing.T) {
	I, L, D, X := measure.InOrder, measure.Late, measure.Duplicate, measure.Invalid
	tests := []struct {
		name       string
		arrivals   []int64
		verdicts   []measure.Verdict
		max        int64
		contiguous int64
		missing    int64
		late, dups int64
	}{
		{"nothing", nil, nil, 0, 0, 0, 0, 0},
		{"perfect", []int64{1, 2, 3, 4}, []measure.Verdict{I, I, I, I}, 4, 4, 0, 0, 0},
		{"a gap stays missing", []int64{1, 2, 4}, []measure.Verdict{I, I, I}, 4, 2, 1, 0, 0},
		{"a gap filled late", []int64{1, 3, 2, 4}, []measure.Verdict{I, I, L, I}, 4, 4, 0, 1, 0},
		{"a duplicate", []int64{1, 2, 2, 3}, []measure.Verdict{I, I, D, I}, 3, 3, 0, 0, 1},
		{"a duplicate of an old one", []int64{1, 2, 3, 1}, []measure.Verdict{I, I, I, D}, 3, 3, 0, 0, 1},
		{"first message lost", []int64{2, 3}, []measure.Verdict{I, I}, 3, 0, 1, 0, 0},
		{"reversed", []int64{3, 2, 1}, []measure.Verdict{I, L, L}, 3, 3, 0, 2, 0},
		{"zero and negative are invalid", []int64{0, -1, 1}, []measure.Verdict{X, X, I}, 1, 1, 0, 0, 0},
		{"across bitset words", []int64{63, 64, 65, 130}, []measure.Verdict{I, I, I, I}, 130, 0, 126, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var s measure.Stream
			var got []measure.Verdict
			for _, seq := range tc.arrivals {
				got = append(got, s.Observe(seq))
			}
			assert.Equal(t, tc.verdicts, got)
			assert.Equal(t, tc.max, s.Max(), "max")
			assert.Equal(t, tc.contiguous, s.Contiguous(), "contiguous")
			assert.Equal(t, tc.missing, s.Missing(), "missing")
			assert.Equal(t, tc.late, s.Late(), "late")
			assert.Equal(t, tc.dups, s.Duplicates(), "duplicates")
		})
	}
}

func TestStreamMissingUpTo(t *testing.T) {
	var s measure.Stream
	for _, seq := range []int64{1, 2, 4, 5} {
		s.Observe(seq)
	}
	tests := []struct {
		name string
		n    int64
		want int64
	}{
		{"none expected", 0, 0},
		{"below the gap", 2, 0},
		{"through the gap", 3, 1},
		{"up to max", 5, 1},
		{"two sent after the last seen", 7, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, s.MissingUpTo(tc.n))
		})
	}
}
