package websocket

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/wire"
)

// Close codes and reasons sent by this package.
const (
	closeTooSlow   = websocket.StatusTryAgainLater // 1013: the queue overflowed; reconnect and resume
	closeGoingAway = websocket.StatusGoingAway     // 1001: the server is shutting down; reconnect
	closeNow       = websocket.StatusCode(-1)      // drop the connection without a handshake

	reasonTooSlow  = "reconnect: client too slow"
	reasonShutdown = "server shutting down, reconnect"
	reasonExpired  = "access token expired: refresh it and reconnect"
	reasonReplaced = "too many sockets: replaced by a newer one of this user"
)

// closeRateLimited (1008) ends a socket that went on sending past its frame
// limit; closeReplaced (4009) the oldest socket of a user over the cap. Both
// tell the client not to reconnect on its own.
var (
	closeRateLimited = websocket.StatusCode(wire.CloseRateLimited)
	closeReplaced    = websocket.StatusCode(wire.CloseCode(domain.KindConflict))
)

// closeTokenExpired (4001) tells a socket whose access token expired to
// refresh it and reconnect (then resume).
var closeTokenExpired = websocket.StatusCode(wire.CloseCode(domain.KindUnauthenticated))

// socket is one WebSocket connection of a user.
type socket struct {
	hub     *Hub
	handler *Handler
	user    domain.UserID
	expires time.Time // when the access token stops being accepted; zero: never
	conn    *websocket.Conn
	raw     net.Conn // the hijacked connection under conn; nil if unknown

	// queue holds the frames offered to the writer and not yet taken;
	// pending counts them together with those the writer took and has not
	// written yet, and is what QueueSize bounds. The queue grows with what
	// arrives, so an idle socket keeps a buffer of at most keptBatch frames
	// for every garbage collection to scan, not one of QueueSize. wake tells
	// the writer that the queue has frames.
	qmu     sync.Mutex
	queue   []*frame
	pending atomic.Int64
	wake    chan struct{}

	// ctx is cancelled when the socket starts closing; it bounds the service
	// calls made on the socket's behalf.
	ctx    context.Context
	cancel context.CancelFunc

	mu     sync.Mutex
	code   websocket.StatusCode // how to close; set by the first close call
	reason string

	writerDone chan struct{}

	// pingDue carries the handler clock's requests for a ping; writing holds
	// when (a clock stamp) the frame write in progress started, 0 when none
	// is, for the clock to drop a connection that stopped taking frames;
	// heard holds when the last frame or pong came in, for the clock to drop
	// one that stopped sending.
	pingDue chan struct{}
	writing atomic.Int64
	heard   atomic.Int64

	// delivery decides what becomes of live messages and resumes: what the
	// client has per conversation, replay before live, gap fill, repeats.
	// Writer only.
	delivery *domain.Delivery[*frame]
}

// newSocket returns the socket of a connection. hold makes live messages wait
// for the client's first resume, which it announced.
func newSocket(h *Handler, user domain.UserID, expires time.Time, conn *websocket.Conn, raw net.Conn, hold bool) (*socket, error) {
	ctx, cancel := context.WithCancel(context.Background())
	s := &socket{
		hub:        h.cfg.Hub,
		handler:    h,
		user:       user,
		expires:    expires,
		conn:       conn,
		raw:        raw,
		wake:       make(chan struct{}, 1),
		ctx:        ctx,
		cancel:     cancel,
		writerDone: make(chan struct{}),
		pingDue:    make(chan struct{}, 1),
	}
	var err error
	s.delivery, err = domain.NewDelivery[*frame](s, s, domain.DeliveryConfig{
		Hold:      hold && h.cfg.ResumeGrace > 0,
		HoldLimit: h.cfg.Hub.cfg.QueueSize,
		PageSize:  h.cfg.ReplayPageSize,
	})
	if err != nil {
		cancel()
		return nil, err
	}
	return s, nil
}

// close asks the writer to close the connection with code and reason. The
// first call decides; it reports whether this call was it.
func (s *socket) close(code websocket.StatusCode, reason string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ctx.Err() != nil {
		return false
	}
	s.code, s.reason = code, reason
	s.cancel()
	return true
}

// abort drops the connection at once, unblocking both goroutines, even in
// the middle of a close handshake (which conn.CloseNow would wait for).
func (s *socket) abort() {
	s.close(closeNow, "")
	if s.raw != nil {
		_ = s.raw.Close()
	}
	_ = s.conn.CloseNow()
}

// fail closes the socket after a failed write or ping; the connection is
// beyond a close handshake.
func (s *socket) fail(op string, err error) {
	if s.close(closeNow, "") {
		s.handler.log.Debug("websocket: connection lost", "user", s.user, "op", op, "err", err)
	}
}

// finish closes the connection as the first close call asked.
func (s *socket) finish() {
	s.mu.Lock()
	code, reason := s.code, s.reason
	s.mu.Unlock()
	if code == closeNow || code == 0 {
		_ = s.conn.CloseNow()
		return
	}
	_ = s.conn.Close(code, reason)
}
