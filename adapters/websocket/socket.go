package websocket

import (
	"context"
	"net"
	"time"

	"github.com/coder/websocket"

	"github.com/messenger-go/messenger/realtime"
	"github.com/messenger-go/messenger/wire"
)

// socket is one WebSocket connection of a user: the shared realtime.Socket
// and the connection it writes to.
type socket struct {
	realtime.Socket
	conn *websocket.Conn
	raw  net.Conn       // the hijacked connection under conn; nil if unknown
	cork *wire.CorkConn // what conn writes to; nil if unknown
}

var (
	_ realtime.Transport = (*socket)(nil)
	_ realtime.Flusher   = (*socket)(nil)
	_ realtime.Reader    = (*socket)(nil)
)

// ReadLoop reads frames until the connection closes, serving those within
// the socket's FrameLimit (realtime.Socket.Receive). It reads with a context
// that never ends so that a close requested by the writer can complete its
// handshake; the writer or the peer ends the connection, which ends the read.
func (s *socket) ReadLoop() {
	for {
		_, data, err := s.conn.Read(context.Background())
		if err != nil {
			s.Logger().Debug("websocket: read ended", "user", s.User(), "err", err)
			return
		}
		serve, stop := s.Receive()
		if stop {
			// The flooder's close frame would come after every frame it
			// has sent meanwhile, which the handshake would read: stop
			// reading now, and the close ends once our close frame is
			// written.
			if s.raw != nil {
				_ = s.raw.SetReadDeadline(time.Now())
			}
			continue
		}
		if !serve {
			continue // closing (drain until the handshake ends), or over the limit
		}
		in, err := wire.DecodeFrame(data)
		if err != nil {
			s.Refuse(in, err, nil)
			continue
		}
		s.Dispatch(in, nil)
	}
}

// Write sends the frame's {"event","data"} envelope as one text message,
// held back with the rest of the writer's batch until Flush. Its time is
// bounded by the endpoint's clock: a context that never ends costs the
// library no timer per frame.
func (s *socket) Write(f *realtime.Frame) error {
	if s.cork != nil {
		s.cork.Cork()
	}
	return s.conn.Write(context.Background(), websocket.MessageText, f.JSON())
}

// Flush sends the messages Write held back, in one write.
func (s *socket) Flush() error {
	if s.cork == nil {
		return nil
	}
	return s.cork.Uncork()
}

// Ping sends a WebSocket ping and waits for its pong.
func (s *socket) Ping(ctx context.Context) error { return s.conn.Ping(ctx) }

// End closes the connection with c's code and reason, or drops it.
func (s *socket) End(c realtime.Close) {
	_ = s.Flush() // a batch cut short by the close
	if c.Code == 0 {
		_ = s.conn.CloseNow()
		return
	}
	_ = s.conn.Close(websocket.StatusCode(c.Code), c.Reason)
}

// Drop drops the connection at once, unblocking both goroutines, even in
// the middle of a close handshake (which conn.CloseNow would wait for).
func (s *socket) Drop() {
	if s.raw != nil {
		_ = s.raw.Close()
	}
	_ = s.conn.CloseNow()
}
