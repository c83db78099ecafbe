package socketio

import (
	"bytes"
	"context"
	"net/http"
	"sync"

	"github.com/coder/websocket"

	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/wire"
)

// upgrade moves a long-polling session to a WebSocket: the client probes it
// (2probe, answered 3probe), the waiting GET is answered with a noop so the
// client pauses polling, and the client's upgrade packet (5) switches
// transports. The packets that were waiting for a GET go to the WebSocket
// first. A probe that fails leaves the session long-polling.
func (h *Handler) upgrade(w http.ResponseWriter, r *http.Request, sid string) {
	s := h.lookup(w, sid)
	if s == nil {
		return
	}
	s.mu.Lock()
	probing := s.ws != nil || s.switched != nil || s.ended
	if !probing {
		s.switched = make(chan struct{})
	}
	s.mu.Unlock()
	if probing {
		wire.WriteHTTPError(w, domain.Errorf(domain.KindInvalid, "the session is upgraded or upgrading"))
		return
	}
	conn, rec, ok := h.accept(w, r)
	if !ok {
		s.abandonProbe()
		return
	}
	if !s.probe(conn) {
		_ = conn.CloseNow()
		s.abandonProbe()
		return
	}
	// The switch: what waited for a GET goes first, then the writers that
	// waited for the switch (sendPacket) write to the WebSocket. A session
	// that ended meanwhile takes no WebSocket: nobody would read it.
	if s.isEnded() {
		_ = conn.CloseNow()
		return
	}
	waiting := s.poll.upgrade()
	for _, pkt := range splitPayload(waiting) {
		if len(waiting) == 0 {
			break
		}
		if conn.Write(context.Background(), websocket.MessageText, pkt) != nil {
			break // the reader sees the broken connection and ends the session
		}
	}
	s.mu.Lock()
	ended := s.ended
	if !ended {
		s.ws, s.raw, s.cork = conn, rec.Conn, rec.Cork
	}
	close(s.switched)
	connected := s.connected
	s.mu.Unlock()
	h.forget(s) // no more long-polling requests
	switch {
	case ended:
		_ = conn.CloseNow()
	case connected:
		s.handoff <- conn // the socket's reader reads it
	default:
		go s.run(conn)
	}
}

// probe runs the client's side of the upgrade on conn until the upgrade
// packet, within PingTimeout; false when the client did anything else.
func (s *session) probe(conn *websocket.Conn) bool {
	ctx, cancel := context.WithTimeout(context.Background(), s.h.ep.Config().PingTimeout)
	defer cancel()
	typ, data, err := conn.Read(ctx)
	if err != nil || typ != websocket.MessageText || !bytes.Equal(data, []byte("2probe")) {
		return false
	}
	if conn.Write(ctx, websocket.MessageText, packetProbe) != nil {
		return false
	}
	s.poll.probe()
	for {
		typ, data, err := conn.Read(ctx)
		switch {
		case err != nil || typ != websocket.MessageText:
			return false
		case bytes.Equal(data, []byte{engineUpgrade}):
			return true
		case bytes.Equal(data, []byte{engineNoop}):
		default:
			return false
		}
	}
}

// abandonProbe lets the session poll on, and a later probe try again.
func (s *session) abandonProbe() {
	s.poll.unprobe()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ws == nil {
		s.switched = nil
	}
}

// buffers holds the buffers in which packets for a WebSocket message are
// put together out of pieces.
type buffers struct{ pool sync.Pool }

func (b *buffers) get() *[]byte {
	if v, ok := b.pool.Get().(*[]byte); ok {
		return v
	}
	buf := make([]byte, 0, 1024)
	return &buf
}

// put keeps buf for reuse, unless a large message grew it.
func (b *buffers) put(buf *[]byte) {
	if cap(*buf) > 64<<10 {
		return
	}
	*buf = (*buf)[:0]
	b.pool.Put(buf)
}
