package websocket_test

import (
	"bytes"
	"runtime/pprof"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/domain"
)

// writers counts the goroutines running a socket writer.
func writers(t *testing.T) int {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, pprof.Lookup("goroutine").WriteTo(&b, 1))
	// debug=1 groups identical stacks: "N @ 0x..." heads each group.
	n := 0
	for block := range strings.SplitSeq(b.String(), "\n\n") {
		if strings.Contains(block, "realtime.(*Socket).writeLoop") {
			count, _, _ := strings.Cut(block, " @")
			c, err := strconv.Atoi(strings.TrimSpace(count))
			require.NoError(t, err, "goroutine profile group %q", count)
			n += c
		}
	}
	return n
}

// An idle socket keeps no writer goroutine: one runs while frames are
// queued and ends when they are written; frames still arrive in order.
func TestIdleSocketsHaveNoWriter(t *testing.T) {
	e := newEnv(t, nil)
	a, b, _ := pair(t)
	ca := e.dial(t, a)
	cb := e.dial(t, b)
	for range 20 {
		e.dial(t, domain.NewUserID())
	}
	require.Equal(t, 22, e.hub.Sockets())
	waitFor(t, "every writer gone once registered is written", func() bool { return writers(t) == 0 })

	var sent []domain.Message
	for range 50 {
		m := e.svc.appendMessage(a, b)
		sent = append(sent, m)
		notify(t, e, m, a, b)
	}
	for _, m := range sent {
		assert.Equal(t, m.Sequence, cb.readMessage(t).Sequence, "in order")
		assert.Equal(t, m.Sequence, ca.readMessage(t).Sequence, "in order")
	}
	waitFor(t, "the writers end once the frames are out", func() bool { return writers(t) == 0 })
	assert.Equal(t, 22, e.hub.Sockets(), "idle sockets stay open")
}
