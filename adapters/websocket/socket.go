package websocket

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/messenger-go/messenger/domain"
)

// Close codes and reasons sent by this package.
const (
	closeTooSlow   = websocket.StatusTryAgainLater // 1013: the queue overflowed; reconnect and resume
	closeGoingAway = websocket.StatusGoingAway     // 1001: the server is shutting down; reconnect
	// 4001: the access token the socket was opened with expired; refresh it
	// and reconnect (then resume).
	closeTokenExpired = websocket.StatusCode(4001)
	closeNow          = websocket.StatusCode(-1) // drop the connection without a handshake

	reasonTooSlow  = "reconnect: client too slow"
	reasonShutdown = "server shutting down, reconnect"
	reasonExpired  = "access token expired: refresh it and reconnect"
)

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
	// when (UnixNano) the frame write in progress started, 0 when none is, for
	// the clock to drop a connection that stopped taking frames.
	pingDue chan struct{}
	writing atomic.Int64

	// highest is the highest sequence sent per conversation, and from the
	// lowest from which the client has every message up to highest (sent on
	// this socket, or below a resume cursor). Writer only.
	highest map[domain.ConversationID]domain.Sequence
	from    map[domain.ConversationID]domain.Sequence
	// synced is set by the first resume or when the resume grace ends; until
	// then live newMessage frames wait in held. Writer only.
	synced bool
	held   []*frame
}

func newSocket(h *Handler, user domain.UserID, expires time.Time, conn *websocket.Conn, raw net.Conn) *socket {
	ctx, cancel := context.WithCancel(context.Background())
	return &socket{
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
		highest:    make(map[domain.ConversationID]domain.Sequence),
		from:       make(map[domain.ConversationID]domain.Sequence),
	}
}

// enqueue offers f to the writer without blocking. A full queue closes the
// socket with the reconnect code.
func (s *socket) enqueue(f *frame) {
	if s.ctx.Err() != nil {
		return
	}
	s.qmu.Lock()
	full := s.pending.Load() >= int64(s.hub.cfg.QueueSize)
	if !full {
		s.queue = append(s.queue, f)
		s.pending.Add(1)
	}
	s.qmu.Unlock()
	if full {
		if s.close(closeTooSlow, reasonTooSlow) {
			s.hub.overflows.Add(1)
			s.hub.log.Info("websocket: queue full, closing socket", "user", s.user, "queue", s.hub.cfg.QueueSize)
		}
		return
	}
	select {
	case s.wake <- struct{}{}:
	default: // the writer has been told already
	}
}

// keptBatch is the largest batch buffer the writer keeps for reuse; a
// burst's larger one is left to the collector.
const keptBatch = 16

// take hands the writer every queued frame; buf, empty, becomes the queue.
func (s *socket) take(buf []*frame) []*frame {
	s.qmu.Lock()
	defer s.qmu.Unlock()
	batch := s.queue
	s.queue = buf
	return batch
}

// sent tells the queue that the writer is done with one frame it took.
func (s *socket) sent() { s.pending.Add(-1) }

// recycle empties a finished batch for the next take, keeping none of its
// frames reachable.
func recycle(batch []*frame) []*frame {
	clear(batch)
	if cap(batch) > keptBatch {
		return nil
	}
	return batch[:0]
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

// writeLoop is the socket's only writer: it drains the queue, pings, and
// finally closes the connection.
func (s *socket) writeLoop() {
	defer close(s.writerDone)
	defer s.finish()
	cfg := &s.handler.cfg
	// Pings, the token's expiry and the write timeout are paced by the
	// handler's clock.
	s.handler.clock.add(s, cfg.PingInterval)
	defer s.handler.clock.remove(s)
	// registered is first in the queue; the resume grace starts once it is
	// written, so a slow write does not eat the client's time to resume.
	var grace *time.Timer
	var graceC <-chan time.Time
	defer func() {
		if grace != nil {
			grace.Stop()
		}
	}()
	// A ping waits for its pong on a goroutine of its own, so that frames
	// keep going out for the round trip (a slow network's seconds); one ping
	// is in flight at a time.
	pong := make(chan error, 1)
	pinging := false
	var batch []*frame
	for {
		if s.ctx.Err() != nil {
			return
		}
		select {
		case <-s.ctx.Done():
			return
		case <-s.wake:
			batch = s.take(batch)
			for _, f := range batch {
				if s.ctx.Err() != nil {
					return
				}
				if err := s.handle(f); err != nil {
					s.fail("write", err)
					return
				}
				s.sent()
				if grace == nil {
					grace = time.NewTimer(cfg.ResumeGrace)
					graceC = grace.C
				}
			}
			batch = recycle(batch)
		case <-graceC:
			graceC = nil
			if err := s.sync(); err != nil {
				s.fail("write", err)
				return
			}
		case <-s.pingDue:
			if pinging {
				continue // the last one is still waiting for its pong
			}
			pinging = true
			go func() {
				ctx, cancel := context.WithTimeout(s.ctx, cfg.PingTimeout)
				defer cancel()
				pong <- s.conn.Ping(ctx)
			}()
		case err := <-pong:
			pinging = false
			if err != nil {
				s.fail("ping", err)
				return
			}
		}
	}
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

// handle writes one queued item.
func (s *socket) handle(f *frame) error {
	switch {
	case f.resume != nil:
		if err := s.resume(f.resume); err != nil {
			return err
		}
		return s.sync()
	case f.conv != "" && !s.synced:
		if len(s.held) >= s.hub.cfg.QueueSize {
			s.close(closeTooSlow, reasonTooSlow)
			return nil
		}
		s.held = append(s.held, f)
		return nil
	case f.conv != "":
		return s.deliver(f)
	default:
		return s.write(f.data)
	}
}

// sync ends the wait for the first resume: the live messages held meanwhile go
// out through the gap policy, so those the replay already sent are dropped.
func (s *socket) sync() error {
	if s.synced {
		return nil
	}
	s.synced = true
	held := s.held
	s.held = nil
	for _, f := range held {
		if err := s.deliver(f); err != nil {
			return err
		}
	}
	return nil
}

// write sends one frame. Its time is bounded by the handler's clock, which
// drops the connection after WriteTimeout: a context that never ends costs the
// library no timer per frame.
func (s *socket) write(data []byte) error {
	s.writing.Store(time.Now().UnixNano())
	defer s.writing.Store(0)
	return s.conn.Write(context.Background(), websocket.MessageText, data)
}

// deliver applies the gap policy to a live newMessage.
func (s *socket) deliver(f *frame) error {
	high, known := s.highest[f.conv]
	switch {
	case known && f.seq <= high:
		return nil // already sent
	case known && f.seq > high+1:
		if err := s.fill(f.conv, high, f.seq); err != nil {
			return err
		}
		if s.highest[f.conv] >= f.seq {
			return nil // the fill sent it
		}
	}
	if err := s.write(f.data); err != nil {
		return err
	}
	if d := s.handler.cfg.Delivered; d != nil && !f.sent.IsZero() {
		d(f.sent)
	}
	if !known {
		s.from[f.conv] = f.seq
	}
	s.highest[f.conv] = f.seq
	return nil
}

// fill sends the messages of conv between after and before (both excluded)
// from history. A history failure is logged and ends the fill: the live
// message still goes out, and the client sees the jump.
func (s *socket) fill(conv domain.ConversationID, after, before domain.Sequence) error {
	err := s.replay(conv, after, before)
	var ferr fetchError
	if errors.As(err, &ferr) {
		s.handler.log.Warn("websocket: gap fill failed", "user", s.user, "conversation", conv,
			"after", after, "before", before, "err", ferr.err)
		return nil
	}
	return err
}

// resume replays every requested conversation in turn, in a stable order.
func (s *socket) resume(req map[domain.ConversationID]domain.Sequence) error {
	convs := make([]domain.ConversationID, 0, len(req))
	for c := range req {
		convs = append(convs, c)
	}
	slices.Sort(convs)
	for _, conv := range convs {
		if s.ctx.Err() != nil {
			return s.ctx.Err()
		}
		err := s.resumeOne(conv, req[conv])
		var ferr fetchError
		if errors.As(err, &ferr) {
			if domain.KindOf(ferr.err) == domain.KindInternal {
				s.handler.log.Error("websocket: resume failed", "user", s.user, "conversation", conv, "err", ferr.err)
			}
			if err := s.writeEvent(domain.ErrorEvent(ferr.err)); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// resumeOne sends conv's messages after the client's cursor last that this
// socket has not sent yet: those below the first it sent live (a resume that
// came after live messages), then everything after the highest.
func (s *socket) resumeOne(conv domain.ConversationID, last domain.Sequence) error {
	high, known := s.highest[conv]
	if known && last+1 < s.from[conv] {
		if err := s.replay(conv, last, s.from[conv]); err != nil {
			return err
		}
	}
	// The client now has everything up to its cursor and what this socket
	// sent: live messages beyond are checked for gaps from there.
	s.from[conv] = 1
	if !known || high < last {
		s.highest[conv] = last
	}
	return s.replay(conv, s.highest[conv], 0)
}

// fetchError marks a failure to read history, as opposed to a failure to
// write to the connection.
type fetchError struct{ err error }

func (e fetchError) Error() string { return e.err.Error() }

// replay sends conv's messages after the sequence after, up to but excluding
// before (0: to the end), page by page, and records them as sent.
func (s *socket) replay(conv domain.ConversationID, after, before domain.Sequence) error {
	cursor := after
	for {
		if s.ctx.Err() != nil {
			return s.ctx.Err()
		}
		ctx, cancel := context.WithTimeout(s.ctx, s.handler.cfg.RequestTimeout)
		page := domain.Page{After: cursor, Limit: s.handler.cfg.ReplayPageSize}
		msgs, more, err := s.handler.cfg.Service.History(ctx, s.user, string(conv), page)
		cancel()
		if err != nil {
			return fetchError{err}
		}
		start := cursor
		for _, m := range msgs {
			if m.Sequence <= cursor {
				continue // not after the cursor: a misbehaving store
			}
			if before > 0 && m.Sequence >= before {
				return nil
			}
			if err := s.writeEvent(domain.NewMessageEvent(m)); err != nil {
				return err
			}
			cursor = m.Sequence
			if m.Sequence > s.highest[conv] {
				s.highest[conv] = m.Sequence
			}
		}
		if !more || cursor == start {
			return nil
		}
	}
}

func (s *socket) writeEvent(ev domain.Event) error {
	data, err := json.Marshal(ev)
	if err != nil {
		s.handler.log.Error("websocket: encode event", "event", ev.Name, "err", err)
		return nil
	}
	return s.write(data)
}
