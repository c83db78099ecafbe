package wire_test

import (
	"errors"
	"net"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/wire"
)

// countingConn records every write that reaches the connection.
type countingConn struct {
	net.Conn
	mu     sync.Mutex
	writes [][]byte
	err    error
}

func (c *countingConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return 0, c.err
	}
	c.writes = append(c.writes, append([]byte(nil), p...))
	return len(p), nil
}

func (c *countingConn) got() [][]byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.writes
}

func TestCorkConnSendsABatchInOneWrite(t *testing.T) {
	raw := &countingConn{}
	c := wire.NewCorkConn(raw)

	_, err := c.Write([]byte("a"))
	require.NoError(t, err)
	assert.Equal(t, [][]byte{[]byte("a")}, raw.got(), "uncorked: written at once")

	c.Cork()
	for _, s := range []string{"b", "c", "d"} {
		n, err := c.Write([]byte(s))
		require.NoError(t, err)
		assert.Equal(t, 1, n)
	}
	assert.Len(t, raw.got(), 1, "corked: held back")
	require.NoError(t, c.Uncork())
	assert.Equal(t, [][]byte{[]byte("a"), []byte("bcd")}, raw.got(), "the batch in one write")

	require.NoError(t, c.Uncork(), "nothing held: no write")
	assert.Len(t, raw.got(), 2)
}

func TestCorkConnBoundsWhatItHolds(t *testing.T) {
	raw := &countingConn{}
	c := wire.NewCorkConn(raw)
	c.Cork()
	chunk := make([]byte, 40<<10)
	for range 3 {
		_, err := c.Write(chunk)
		require.NoError(t, err)
	}
	require.NoError(t, c.Uncork())
	total := 0
	for _, w := range raw.got() {
		assert.LessOrEqual(t, len(w), 64<<10, "no write beyond the limit")
		total += len(w)
	}
	assert.Equal(t, 3*len(chunk), total, "every byte, once")
	assert.Len(t, raw.got(), 3)
}

func TestCorkConnReportsAFailedHeldBackWrite(t *testing.T) {
	broken := errors.New("connection reset")
	raw := &countingConn{}
	c := wire.NewCorkConn(raw)
	c.Cork()
	_, err := c.Write([]byte("x"))
	require.NoError(t, err, "held back: the failure is not known yet")
	raw.mu.Lock()
	raw.err = broken
	raw.mu.Unlock()
	require.ErrorIs(t, c.Uncork(), broken)
	_, err = c.Write([]byte("y"))
	require.ErrorIs(t, err, broken, "the connection stays failed")
}

func TestCorkConnTakesWritesFromOtherGoroutines(t *testing.T) {
	raw := &countingConn{}
	c := wire.NewCorkConn(raw)
	c.Cork()
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			_, err := c.Write([]byte("pong"))
			assert.NoError(t, err)
		})
	}
	wg.Wait()
	require.NoError(t, c.Uncork())
	require.Len(t, raw.got(), 1)
	assert.Len(t, raw.got()[0], 8*len("pong"))
}
