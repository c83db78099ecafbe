package load_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/cmd/msgbench/internal/load"
	"github.com/messenger-go/messenger/cmd/msgbench/internal/report"
)

func newBench(t *testing.T, cfg load.Config) *load.Bench {
	t.Helper()
	cfg.Settle = -1
	b, err := load.New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { b.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, b.Setup(ctx))
	return b
}

func runStep(t *testing.T, b *load.Bench, rate float64, warmup, duration time.Duration) report.Step {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	return b.Step(ctx, load.StepConfig{Rate: rate, Warmup: warmup, Duration: duration, Drain: 2 * time.Second})
}

// The accounting finds exactly the faults a server makes: per conversation
// the receiver of sequence 3 never gets it, the receiver of 5 gets it twice,
// and the receiver of 7 gets it after 8.
func TestStepCountsLostDuplicatedAndLate(t *testing.T) {
	faults := func(seq int64) string {
		switch seq {
		case 3:
			return "drop"
		case 5:
			return "dup"
		case 7:
			return "late"
		}
		return ""
	}
	tests := []struct {
		name                      string
		misdeliver                func(int64) string
		lost, dups, late, missing int64
		delivered                 int
	}{
		{"faithful server", func(int64) string { return "" }, 0, 0, 0, 0, 100},
		{"faulty server", faults, 2, 2, 2, 2, 98},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeServer(t, tc.misdeliver)
			b := newBench(t, load.Config{Targets: []string{f.srv.URL}, Users: 4, Register: true})
			// 2 pairs, 100 messages: 50 per conversation.
			st := runStep(t, b, 200, 0, 500*time.Millisecond)

			assert.EqualValues(t, 100, st.Scheduled)
			assert.EqualValues(t, 100, st.Accepted)
			assert.EqualValues(t, 0, st.Failed)
			assert.Equal(t, tc.lost, st.Lost, "lost")
			assert.Equal(t, tc.dups, st.Duplicated, "duplicated")
			assert.Equal(t, tc.late, st.OutOfOrder, "out of order")
			assert.EqualValues(t, 0, st.NotEchoed)
			assert.Equal(t, tc.delivered, st.Delivery.Count, "every delivered message is measured once")
			assert.Equal(t, 100, st.Send.Count)
			r := b.Close()
			assert.Equal(t, tc.missing, r.MissingSequences, "dropped sequences stay missing")
		})
	}
}

// Every user sends the same share, and only to its friend.
func TestPairsTakeTurns(t *testing.T) {
	f := newFakeServer(t, func(int64) string { return "" })
	b := newBench(t, load.Config{Targets: []string{f.srv.URL}, Users: 6, Register: true})
	sent := map[int]int{}
	for i := int64(0); i < 600; i++ {
		from, to := b.PairForTest(i)
		require.Same(t, from.Peer, to)
		require.Equal(t, from.Conv, to.Conv)
		sent[from.Index]++
	}
	assert.Equal(t, map[int]int{0: 100, 1: 100, 2: 100, 3: 100, 4: 100, 5: 100}, sent)
	from0, _ := b.PairForTest(0)
	from3, _ := b.PairForTest(3)
	assert.Equal(t, 0, from0.Index)
	assert.Equal(t, 1, from3.Index, "after one message per pair the direction turns")
}

func TestStepFetchesProfiles(t *testing.T) {
	tests := []struct {
		name  string
		serve bool
	}{
		{"served", true},
		{"not served", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeServer(t, func(int64) string { return "" })
			f.pprof = tc.serve
			dir := t.TempDir()
			b := newBench(t, load.Config{Targets: []string{f.srv.URL, f.srv.URL}, Users: 4, Register: true, ProfileDir: dir})
			st := runStep(t, b, 50, 0, time.Second)
			r := b.Close()
			if !tc.serve {
				assert.Empty(t, st.Profiles)
				require.Len(t, r.Notes, 1, "one note for both servers")
				assert.Contains(t, r.Notes[0], "serves no /debug/pprof/profile (HTTP 404)")
				return
			}
			require.Len(t, st.Profiles, 2, "one profile per server")
			for _, p := range st.Profiles {
				data, err := os.ReadFile(p)
				require.NoError(t, err)
				assert.Equal(t, "profile of 1s", string(data))
				assert.Equal(t, dir, filepath.Dir(p))
			}
			assert.Empty(t, r.Notes)
		})
	}
}
