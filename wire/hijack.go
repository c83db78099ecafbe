package wire

import (
	"bufio"
	"net"
	"net/http"
)

// HijackRecorder keeps the connection a WebSocket upgrade hijacks, so that a
// transport can cut it even while a close handshake waits on an unresponsive
// peer.
type HijackRecorder struct {
	http.ResponseWriter
	Conn net.Conn // set by Hijack
}

// Hijack hijacks the connection of the ResponseWriter underneath and keeps it.
func (r *HijackRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(r.ResponseWriter).Hijack()
	r.Conn = conn
	return conn, brw, err
}

// Unwrap returns the ResponseWriter underneath.
func (r *HijackRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
