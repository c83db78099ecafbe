package app_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/app"
	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
)

// typingLog records the typing indicators published through it.
type typingLog struct {
	ports.Publisher
	mu   sync.Mutex
	sent []bool // isTyping of each, in order
}

func (l *typingLog) Publish(ctx context.Context, topic string, key, value []byte) error {
	if topic == ports.TopicTyping {
		var rec struct {
			IsTyping bool `json:"isTyping"`
		}
		if err := json.Unmarshal(value, &rec); err != nil {
			return err
		}
		l.mu.Lock()
		l.sent = append(l.sent, rec.IsTyping)
		l.mu.Unlock()
	}
	return l.Publisher.Publish(ctx, topic, key, value)
}

// take returns what was published since the last take.
func (l *typingLog) take() []bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.sent
	l.sent = nil
	return out
}

// typingWorld is a world whose typing indicators are recorded, on a clock the
// test moves, with two friends.
func typingWorld(t *testing.T, interval time.Duration) (*world, *typingLog, *fixedClock, domain.UserID, domain.UserID) {
	t.Helper()
	clock := &fixedClock{now: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	var tl *typingLog
	w := newWorld(t, func(c *app.Config) {
		tl = &typingLog{Publisher: c.Log}
		c.Log, c.Clock, c.Guards.TypingInterval = tl, clock, interval
	})
	a, b := w.user(t, "ann"), w.user(t, "ben")
	w.friends(t, a, b)
	return w, tl, clock, a, b
}

// TestTypingFloodIsPacedPerPair is the report's 5,000 typing frames in 30 ms:
// one indicator reaches the log, the rest are dropped without an error.
func TestTypingFloodIsPacedPerPair(t *testing.T) {
	w, tl, clock, a, b := typingWorld(t, 0)
	ctx := context.Background()
	start := clock.now
	for i := range 5000 {
		clock.now = start.Add(time.Duration(i) * 6 * time.Microsecond)
		require.NoError(t, w.app.Typing(ctx, a, b, true), "dropped indicators are no error")
	}
	assert.Equal(t, []bool{true}, tl.take())

	// Another pair of the same sender is paced on its own.
	c := w.user(t, "cat")
	w.friends(t, a, c)
	require.NoError(t, w.app.Typing(ctx, a, c, true))
	assert.Equal(t, []bool{true}, tl.take())
}

func TestTypingGate(t *testing.T) {
	type step struct {
		after    time.Duration // since the previous step
		isTyping bool
		passes   bool
	}
	const s = time.Second
	tests := []struct {
		name  string
		steps []step
	}{
		{"a start and a stop go out", []step{{0, true, true}, {100 * time.Millisecond, false, true}}},
		{"repeated starts refresh every interval", []step{
			{0, true, true}, {s, true, false}, {900 * time.Millisecond, true, false}, {100 * time.Millisecond, true, true}, {s, true, false},
		}},
		{"one stop per start", []step{{0, true, true}, {0, false, true}, {0, false, false}, {s, false, false}}},
		{"a restart within the interval waits for it", []step{
			{0, true, true}, {100 * time.Millisecond, false, true}, {100 * time.Millisecond, true, false}, {100 * time.Millisecond, false, false},
			{1700 * time.Millisecond, true, true},
		}},
		{"alternating starts and stops are two per interval", []step{
			{0, true, true}, {10 * time.Millisecond, false, true}, {10 * time.Millisecond, true, false}, {10 * time.Millisecond, false, false},
			{10 * time.Millisecond, true, false}, {10 * time.Millisecond, false, false},
		}},
		{"a stop after a quiet interval goes out", []step{{0, true, true}, {2 * s, false, true}}},
		{"a first stop goes out", []step{{0, false, true}, {0, false, false}, {0, true, true}}},
		{"a pair quiet for the interval starts afresh", []step{{0, false, true}, {2 * s, false, true}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w, tl, clock, a, b := typingWorld(t, 2*s)
			for i, st := range tc.steps {
				clock.now = clock.now.Add(st.after)
				require.NoError(t, w.app.Typing(context.Background(), a, b, st.isTyping))
				var want []bool
				if st.passes {
					want = []bool{st.isTyping}
				}
				assert.Equal(t, want, tl.take(), "step %d", i)
			}
		})
	}
}

func TestTypingGateOff(t *testing.T) {
	w, tl, _, a, b := typingWorld(t, -1)
	for range 10 {
		require.NoError(t, w.app.Typing(context.Background(), a, b, true))
	}
	assert.Len(t, tl.take(), 10)
}

func TestTypingGateLeavesOtherRulesFirst(t *testing.T) {
	w, tl, _, a, _ := typingWorld(t, 0)
	stranger := w.user(t, "sam")
	for range 3 {
		err := w.app.Typing(context.Background(), a, stranger, true)
		assert.Equal(t, domain.KindForbidden, domain.KindOf(err), "typing to a stranger is refused, every time")
	}
	assert.Empty(t, tl.take())
}
