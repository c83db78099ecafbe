package wire

import (
	"net"
	"sync"
)

// corkLimit is the most a CorkConn holds back; a batch beyond it goes out
// in pieces of about this size.
const corkLimit = 64 << 10

// corkBuffers are the buffers of corked connections, shared: a connection
// holds one only between Cork and Uncork.
var corkBuffers = sync.Pool{New: func() any {
	b := make([]byte, 0, 8<<10)
	return &b
}}

// CorkConn is a connection whose writes can be held back and sent together:
// between Cork and Uncork, what is written collects in a buffer (up to
// corkLimit), and Uncork sends it in one write. A WebSocket library writes
// each message with a system call of its own; a socket's writer corks the
// connection for a batch of queued frames, which then leave in one. Writes
// from other goroutines meanwhile (a pong, a ping) join the batch. It is
// safe for concurrent use. An idle CorkConn keeps no buffer.
type CorkConn struct {
	net.Conn

	mu     sync.Mutex
	corked bool
	buf    *[]byte // from corkBuffers while corked
	err    error   // the first failed write of held-back bytes
}

// NewCorkConn wraps c, uncorked.
func NewCorkConn(c net.Conn) *CorkConn { return &CorkConn{Conn: c} }

// Write sends p, or holds it back while the connection is corked. The
// error of a held-back write is returned by the next Write or Uncork.
func (c *CorkConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return 0, c.err
	}
	if !c.corked {
		return c.Conn.Write(p)
	}
	if c.buf == nil {
		c.buf = corkBuffers.Get().(*[]byte)
	}
	if len(*c.buf)+len(p) > corkLimit {
		if err := c.flushLocked(); err != nil {
			return 0, err
		}
		if len(p) > corkLimit {
			return c.Conn.Write(p)
		}
	}
	*c.buf = append(*c.buf, p...)
	return len(p), nil
}

// Cork holds back the writes that follow until Uncork.
func (c *CorkConn) Cork() {
	c.mu.Lock()
	c.corked = true
	c.mu.Unlock()
}

// Uncork sends what was held back, in one write, and lets the writes that
// follow through. It returns the error of that write, or of an earlier
// held-back one.
func (c *CorkConn) Uncork() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.corked = false
	err := c.flushLocked()
	if c.buf != nil {
		if cap(*c.buf) <= corkLimit {
			*c.buf = (*c.buf)[:0]
			corkBuffers.Put(c.buf)
		}
		c.buf = nil
	}
	return err
}

// flushLocked writes the held-back bytes.
func (c *CorkConn) flushLocked() error {
	if c.err != nil {
		return c.err
	}
	if c.buf == nil || len(*c.buf) == 0 {
		return nil
	}
	_, err := c.Conn.Write(*c.buf)
	*c.buf = (*c.buf)[:0]
	if err != nil {
		c.err = err
	}
	return err
}
