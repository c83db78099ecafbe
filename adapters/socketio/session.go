package socketio

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/realtime"
	"github.com/messenger-go/messenger/wire"
)

// session is one Engine.IO session and, once the client connected with a
// valid token, its Socket.IO socket: the shared realtime.Socket, written to
// the session's transport of the moment, long-polling or WebSocket.
type session struct {
	realtime.Socket // set up by the connect
	h               *Handler
	sid             string

	mu        sync.Mutex
	connected bool // the realtime.Socket is set up and started
	serve     bool // a connect started the socket and nobody serves it yet
	ended     bool
	ws        *websocket.Conn // the WebSocket, once it carries the session
	raw       net.Conn        // the connection under ws
	cork      *wire.CorkConn  // what ws writes to
	poll      *poller         // while long-polling
	switched  chan struct{}   // closed when an upgrade made ws the transport
	// handoff carries the upgraded WebSocket of a connected long-polling
	// session to its reader.
	handoff chan *websocket.Conn
	timer   *time.Timer // ends a session that does not connect in time

	// What the handshake request said, for the connect: its bearer token
	// (or why it had none) and whether a resume follows.
	token    string
	tokenErr error
	resume   bool

	readMu sync.Mutex    // one long-polling POST at a time
	pong   chan struct{} // the client answered a ping
	done   chan struct{} // closed when the session ended
}

var (
	_ realtime.Transport = (*session)(nil)
	_ realtime.Flusher   = (*session)(nil)
	_ realtime.Reader    = (*session)(nil)
)

func (h *Handler) newSession(r *http.Request, hold bool) *session {
	s := &session{
		h:      h,
		sid:    h.prefix + newID(),
		resume: hold,
		pong:   make(chan struct{}, 1),
		done:   make(chan struct{}),
	}
	s.token, s.tokenErr = wire.BearerToken(r, true)
	return s
}

// openPacket is the Engine.IO open packet of the session.
func (s *session) openPacket(polling bool) []byte {
	upgrades := `[]`
	if polling {
		upgrades = `["websocket"]`
	}
	sid, _ := json.Marshal(s.sid) // a string: never fails
	b := append([]byte{engineOpen}, `{"sid":`...)
	b = append(b, sid...)
	b = append(b, `,"upgrades":`...)
	b = append(b, upgrades...)
	b = append(b, ',')
	return append(b, s.h.open[1:]...) // the handler's object without its "{"
}

// startTimer ends the session unless it connects within ConnectTimeout.
func (s *session) startTimer() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.timer = time.AfterFunc(s.h.cfg.ConnectTimeout, func() {
		s.mu.Lock()
		connected := s.connected
		s.mu.Unlock()
		if !connected {
			s.h.log.Debug("socketio: no connect in time, closing session")
			s.end()
		}
	})
}

// poller returns the session's long-polling state; nil once it is not
// long-polling.
func (s *session) poller() *poller {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ws != nil {
		return nil
	}
	return s.poll
}

// takeServe reports, once, that a connect started the socket and that the
// caller must serve it (Serve).
func (s *session) takeServe() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	serve := s.serve
	s.serve = false
	return serve
}

// isEnded reports whether the session ended.
func (s *session) isEnded() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ended
}

// isConnected reports whether the socket is set up.
func (s *session) isConnected() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.connected
}

// sendPacket writes one packet made of parts to the transport of the
// moment, waiting while a long-polling buffer is full or an upgrade
// switches transports, until ctx ends. The socket's writer passes a context
// that never ends: the endpoint's clock drops a transport that stopped
// taking its frames. It is safe for concurrent use. An error means the
// session's transport is gone, or ctx ended.
func (s *session) sendPacket(ctx context.Context, parts ...[]byte) error {
	for {
		s.mu.Lock()
		ws, p, switched := s.ws, s.poll, s.switched
		s.mu.Unlock()
		if ws != nil {
			if len(parts) == 1 {
				return ws.Write(ctx, websocket.MessageText, parts[0])
			}
			buf := s.h.buffers.get()
			for _, b := range parts {
				*buf = append(*buf, b...)
			}
			err := ws.Write(ctx, websocket.MessageText, *buf)
			s.h.buffers.put(buf)
			return err
		}
		err := p.push(ctx, parts...)
		if !errors.Is(err, errUpgraded) {
			return err
		}
		select { // the upgrade writes what was waiting first
		case <-switched:
		case <-ctx.Done():
			return ctx.Err()
		}
		s.mu.Lock()
		gone := s.ws == nil // the session ended during the switch
		s.mu.Unlock()
		if gone {
			return errPollClosed
		}
	}
}

// Write sends the frame as a Socket.IO event, 42["name",data], or a frame
// of the session's own as it is. Over a WebSocket it is held back with the
// rest of the writer's batch until Flush; long-polling sends what piled up
// with the next answer anyway.
func (s *session) Write(f *realtime.Frame) error {
	if c := s.corked(); c != nil {
		c.Cork()
	}
	if f.Event() == "" {
		return s.sendPacket(context.Background(), f.JSON())
	}
	return s.sendPacket(context.Background(), eventHead, f.Name(), comma, f.Data(), closeBracket)
}

// Flush sends the packets Write held back, in one write.
func (s *session) Flush() error {
	if c := s.corked(); c != nil {
		return c.Uncork()
	}
	return nil
}

// corked is the connection under the session's WebSocket; nil while
// long-polling.
func (s *session) corked() *wire.CorkConn {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cork
}

// The pieces of an event packet around its name and data.
var (
	eventHead    = []byte{engineMessage, ioEvent, '['}
	comma        = []byte{','}
	closeBracket = []byte{']'}
)

// Ping sends an Engine.IO ping and waits for the client's pong, both within
// ctx: a long-polling client that stopped polling fails it.
func (s *session) Ping(ctx context.Context) error {
	select {
	case <-s.pong: // a late answer to an earlier ping
	default:
	}
	if err := s.sendPacket(ctx, packetPing); err != nil {
		return err
	}
	select {
	case <-s.pong:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// End ends the session as c says. A close with a code is announced by an
// error event {code, message: reason}; a close with an application code
// (4000 and up: the token expired, say) is also the Socket.IO disconnect,
// after which socket.io-client does not reconnect on its own (the client
// refreshes its token and connects again), while after the others (too
// slow, shutdown) it reconnects by itself.
func (s *session) End(c realtime.Close) {
	_ = s.Flush() // a batch cut short by the close
	var last [][]byte
	if c.Code != 0 {
		ev, _ := realtime.NewFrame(domain.Event{Name: domain.EventError, Data: domain.ErrorPayload{Code: closeKind(c.Code).String(), Message: c.Reason}})
		last = append(last, append(append(append(append(append([]byte(nil), eventHead...), ev.Name()...), comma...), ev.Data()...), closeBracket...))
		if c.Code >= 4000 {
			last = append(last, packetDisconnect)
		}
	}
	s.mu.Lock()
	ws, p := s.ws, s.poll
	s.ended = true
	s.mu.Unlock()
	defer s.closeDone()
	if ws == nil {
		p.finish(append(last, packetClose)...)
		s.forgetLater(s.h.ep.Config().PingTimeout)
		return
	}
	for _, b := range last {
		if ws.Write(context.Background(), websocket.MessageText, b) != nil {
			_ = ws.CloseNow()
			return
		}
	}
	switch {
	case c.Code == 0:
		_ = ws.CloseNow()
	case c.Code >= 4000:
		_ = ws.Close(websocket.StatusNormalClosure, c.Reason)
	default:
		_ = ws.Close(websocket.StatusCode(c.Code), c.Reason)
	}
}

// closeKind is the error kind whose close code is code; unavailable for a
// code of no kind (a shutdown's).
func closeKind(code int) domain.Kind {
	if code == wire.CloseRateLimited { // too many frames, whose code /ws shares with invalid input
		return domain.KindRateLimited
	}
	for k := domain.KindInternal; k <= domain.KindUnavailable; k++ {
		if wire.CloseCode(k) == code {
			return k
		}
	}
	return domain.KindUnavailable
}

// Drop cuts the transport at once.
func (s *session) Drop() {
	s.mu.Lock()
	ws, raw, p := s.ws, s.raw, s.poll
	s.mu.Unlock()
	if raw != nil {
		_ = raw.Close()
	}
	if ws != nil {
		_ = ws.CloseNow()
	}
	if p != nil {
		p.finish()
	}
}

func (s *session) closeDone() {
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-s.done:
	default:
		close(s.done)
	}
}

// forgetLater removes the session from the handler's table after d, the
// time a long-polling client has to take the last packets.
func (s *session) forgetLater(d time.Duration) {
	if d == 0 {
		s.h.forget(s)
		return
	}
	time.AfterFunc(d, func() { s.h.forget(s) })
}

// end ends a session whose socket is not connected: the client left, broke
// the protocol, or did not connect in time. A connected one is closed
// through its socket.
func (s *session) end() {
	s.mu.Lock()
	if s.connected {
		s.mu.Unlock()
		s.Close(realtime.CloseNow)
		return
	}
	if s.ended {
		s.mu.Unlock()
		return
	}
	s.ended = true
	if s.timer != nil {
		s.timer.Stop()
	}
	ws, p := s.ws, s.poll
	s.mu.Unlock()
	switch {
	case ws != nil:
		s.h.forget(s)
		_ = ws.CloseNow()
	case p != nil:
		p.finish(packetClose)
		s.forgetLater(s.h.ep.Config().PingTimeout)
	}
	s.closeDone()
}

// shutdown ends the session for a server that is shutting down.
func (s *session) shutdown() {
	if s.isConnected() {
		s.Close(realtime.CloseShutdown)
		return
	}
	s.end()
}

// ReadLoop reads the session's WebSocket until it ends; a long-polling
// session, whose packets come in POSTs, waits for its end or for the
// WebSocket of an upgrade, and reads that.
func (s *session) ReadLoop() {
	s.mu.Lock()
	ws := s.ws
	s.mu.Unlock()
	if ws == nil {
		select {
		case ws = <-s.handoff:
		case <-s.done:
			return
		}
	}
	s.readWS(ws, false)
}

// run reads a WebSocket that carries the session before its socket
// connected (a WebSocket handshake, or an upgrade that came first) until the
// connect, and then hands the socket to a goroutine of its own: its stack
// starts small again, after the connect's work grew this one's, and stays
// so for the socket's life.
func (s *session) run(ws *websocket.Conn) {
	if !s.readWS(ws, true) {
		return
	}
	if s.takeServe() {
		go s.Serve(s)
	}
}

// readWS reads and handles packets until the WebSocket ends, or, with
// untilConnect, until the socket connected (then it returns true). A
// connection that ends ends the session.
func (s *session) readWS(ws *websocket.Conn, untilConnect bool) bool {
	for {
		typ, data, err := ws.Read(context.Background())
		if err != nil {
			s.h.log.Debug("socketio: read ended", "err", err)
			s.end()
			return false
		}
		if typ != websocket.MessageText {
			_ = ws.Close(websocket.StatusUnsupportedData, "binary packets are not supported")
			s.end()
			return false
		}
		if err := s.handlePacket(data); err != nil {
			_ = ws.Close(websocket.StatusCode(wire.CloseCode(domain.KindOf(err))), domain.MessageOf(err))
			s.end()
			return false
		}
		if untilConnect && s.isConnected() {
			return true
		}
	}
}
