package wire

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"time"
)

// HijackRecorder keeps the connection a WebSocket upgrade hijacks, so that a
// transport can cut it even while a close handshake waits on an unresponsive
// peer.
type HijackRecorder struct {
	http.ResponseWriter
	// ReadBuffer is the kernel receive buffer to set on the connection, in
	// bytes; 0: the system's.
	ReadBuffer int
	Conn       net.Conn // set by Hijack
	// Cork, set by Hijack, is what the WebSocket library writes to: Conn,
	// whose writes a socket's writer can hold back for a batch of frames.
	Cork *CorkConn
}

// Hijack hijacks the connection of the ResponseWriter underneath and keeps it,
// and hands the caller a CorkConn over it.
// It also clears the deadlines the HTTP server set on the connection for the
// request (its ReadTimeout and WriteTimeout), which would otherwise end the
// socket that long after it opened: from here the endpoint's clock bounds
// reads and writes. And it caps the kernel's receive buffer of the
// connection at ReadBuffer: room for two frames of the largest size, far
// more than a client within its frame limit sends, and all that a flooding
// client makes the kernel take in before its socket is closed (the buffer's
// autotuning would let it grow to megabytes).
func (r *HijackRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(r.ResponseWriter).Hijack()
	if err == nil {
		err = conn.SetDeadline(time.Time{})
		if err != nil {
			_ = conn.Close()
			conn, brw = nil, nil
		}
	}
	if err == nil && r.ReadBuffer > 0 {
		raw := conn
		if tc, ok := raw.(interface{ NetConn() net.Conn }); ok { // TLS
			raw = tc.NetConn()
		}
		if rb, ok := raw.(interface{ SetReadBuffer(int) error }); ok {
			_ = rb.SetReadBuffer(r.ReadBuffer)
		}
	}
	if err != nil {
		return conn, brw, err
	}
	// The library writes through brw's writer, which net/http made for conn:
	// flush it, and give the library smaller buffers of its own, the writer
	// on the corkable connection instead.
	if err := brw.Writer.Flush(); err != nil {
		_ = conn.Close()
		return nil, nil, err
	}
	r.Conn, r.Cork = conn, NewCorkConn(conn)
	return r.Cork, smallBuffers(brw.Reader, conn, r.Cork), nil
}

// Sizes of the buffers a hijacked socket keeps for its whole life. net/http
// hands over 4 KiB for reading and 4 KiB for writing; an idle socket needs
// neither, and a socket's frames are a few hundred bytes. A larger frame is
// read and written past the buffer, in place; a batch of frames still leaves
// in one system call, collected by the CorkConn.
const (
	hijackedReadBuffer  = 1 << 10
	hijackedWriteBuffer = 512
)

// smallBuffers returns a reader of hijackedReadBuffer bytes on conn and a
// writer of hijackedWriteBuffer bytes on w. When r already holds bytes read
// past the request (a client that wrote before the upgrade's answer), r is
// kept: the library takes what r holds and then resets it onto the
// connection, so those bytes must stay in r.
func smallBuffers(r *bufio.Reader, conn net.Conn, w io.Writer) *bufio.ReadWriter {
	if r.Buffered() == 0 {
		r = bufio.NewReaderSize(conn, hijackedReadBuffer)
	}
	return bufio.NewReadWriter(r, bufio.NewWriterSize(w, hijackedWriteBuffer))
}

// Unwrap returns the ResponseWriter underneath.
func (r *HijackRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
