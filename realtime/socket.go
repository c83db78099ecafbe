package realtime

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/wire"
)

// Transport is the transport-specific half of a socket: it moves frames and
// ends the connection. The writer calls Write, Flush (a Flusher's) and End;
// Ping runs on a goroutine of its own, one at a time, concurrently with
// Write.
type Transport interface {
	// Write sends one frame: an event (Frame.JSON, or Frame.Name and
	// Frame.Data) or a frame of the transport's own (Frame.JSON). It may
	// block until the peer takes it; the endpoint's clock drops a connection
	// whose write outlasts WriteTimeout (Drop). An error means the
	// connection is lost.
	Write(f *Frame) error
	// Ping sends a heartbeat and waits for the peer's answer until ctx ends;
	// an error means the connection is dead.
	Ping(ctx context.Context) error
	// End ends the connection as c says: the transport tells the peer why
	// in its own terms (a close frame, a last event), or, for CloseNow, drops
	// it. Called once, by the writer, as it ends.
	End(c Close)
	// Drop drops the connection at once, unblocking a Write, an End
	// handshake and the transport's reader. It may be called at any time,
	// more than once.
	Drop()
}

// Close says how the server ends a socket: a WebSocket close code and a
// reason for the client, which transports without close codes translate.
type Close struct {
	Code   int // 0: drop the connection without telling the client
	Reason string
}

// The ways the server ends a socket.
var (
	// CloseNow drops the connection: it is lost, or the client left.
	CloseNow = Close{}
	// CloseTooSlow: the socket's queue overflowed; reconnect and resume.
	CloseTooSlow = Close{Code: 1013, Reason: "reconnect: client too slow"}
	// CloseShutdown: the server is shutting down; reconnect (elsewhere).
	CloseShutdown = Close{Code: 1001, Reason: "server shutting down, reconnect"}
	// CloseExpired: the access token the socket was opened with expired;
	// refresh it, reconnect and resume (4001).
	CloseExpired = Close{Code: wire.CloseCode(domain.KindUnauthenticated), Reason: "access token expired: refresh it and reconnect"}
	// CloseRateLimited (1008): the client went on sending past its frame
	// limit; it should not reconnect on its own.
	CloseRateLimited = Close{Code: wire.CloseRateLimited, Reason: wire.ReasonRateLimited}
	// CloseReplaced (4009): the user's oldest socket beyond
	// HubConfig.MaxSocketsPerUser; it should not reconnect on its own.
	CloseReplaced = Close{Code: wire.CloseCode(domain.KindConflict), Reason: "too many sockets: replaced by a newer one of this user"}
)

// Socket is the shared half of one device's connection, whatever its
// transport: its user, its bounded queue, its delivery state and its writer.
// A transport embeds it in its own connection type, calls Init, and then
// Start and Serve.
type Socket struct {
	ep      *Endpoint
	t       Transport
	user    domain.UserID
	expires int64 // when (UnixNano) the access token stops being accepted; 0: never

	// queue holds the frames offered to the writer and not yet taken;
	// pending counts them together with those the writer took and has not
	// written yet, and is what QueueSize bounds. The queue grows with what
	// arrives, so an idle socket keeps a buffer of at most keptBatch frames
	// for every garbage collection to scan, not one of QueueSize.
	qmu     sync.Mutex
	queue   []*Frame
	pending atomic.Int64

	// ctx is cancelled when the socket starts closing; it bounds the service
	// calls made on the socket's behalf.
	ctx    context.Context
	cancel context.CancelFunc

	mu      sync.Mutex
	closing Close         // how to close; set by the first Close call
	sends   chan struct{} // the slots of the sends in flight; made by the first send

	// The writer runs only while there is work (kick): wmu guards whether
	// the socket started and whether a writer runs. pingDue and graceDue
	// are work for it: a ping the clock asked for, the end of a resume's
	// hold. writerDone is closed once the writer closed the connection.
	wmu           sync.Mutex
	started       bool
	writerRunning bool
	pingDue       atomic.Bool
	graceDue      atomic.Bool
	pinging       atomic.Bool // a ping waits for its pong
	writerDone    chan struct{}

	// Writer only: the emptied buffer of the last batch, and the timer of
	// a resume's hold.
	spare []*Frame
	grace *time.Timer

	// writing holds when (a clock stamp) the frame write in progress
	// started, 0 when none is, for the clock to drop a connection that
	// stopped taking frames; heard holds when the last frame or pong came
	// in, for the clock to drop one that stopped sending.
	writing atomic.Int64
	heard   atomic.Int64

	// limiter is the budget of incoming frames (Config.FrameLimit), taken
	// through Receive under lmu (a transport may read on more than one
	// goroutine, as long-polling requests do).
	lmu     sync.Mutex
	limiter *wire.FrameLimiter

	// delivery decides what becomes of live messages and resumes: what the
	// client has per conversation, replay before live, gap fill, repeats.
	// Writer only.
	delivery *domain.Delivery[*Frame]
}

// Init prepares s, the embedded half of a transport's connection t, for
// user, whose access token is accepted until expires (zero: never). hold
// makes live messages wait for the client's first resume, which it
// announced.
func (s *Socket) Init(ep *Endpoint, t Transport, user domain.UserID, expires time.Time, hold bool) error {
	ctx, cancel := context.WithCancel(context.Background())
	*s = Socket{
		ep:         ep,
		t:          t,
		user:       user,
		ctx:        ctx,
		cancel:     cancel,
		writerDone: make(chan struct{}),
		limiter:    wire.NewFrameLimiter(ep.cfg.FrameLimit, ep.clock.now()),
	}
	if !expires.IsZero() {
		s.expires = expires.UnixNano()
	}
	var err error
	s.delivery, err = domain.NewDelivery[*Frame](s, s, domain.DeliveryConfig{
		Hold:      hold && ep.cfg.ResumeGrace > 0,
		HoldLimit: ep.cfg.Hub.cfg.QueueSize,
		PageSize:  ep.cfg.ReplayPageSize,
	})
	if err != nil {
		cancel()
		return err
	}
	return nil
}

// User is the socket's user.
func (s *Socket) User() domain.UserID { return s.user }

// Context is cancelled when the socket starts closing.
func (s *Socket) Context() context.Context { return s.ctx }

// Start registers s in the hub, so that Notify reaches it from now on,
// records the user's presence when s is the user's first socket on this
// node, and only then lets its writer send what was queued before
// (registered first). A client that reads registered is thereby reachable
// from every node: a message stored after that is routed to this socket,
// and one stored before it is in the history the client reads. Start waits
// for the presence store (at most HubConfig.PresenceTimeout; a failure is
// logged and routing degrades, as for every presence error). It returns
// false, and s must be dropped, once the hub is shutting down.
func (s *Socket) Start() bool {
	ok, first := s.ep.cfg.Hub.add(s)
	if !ok {
		return false
	}
	if first {
		s.ep.cfg.Hub.syncPresence(s.ctx, s.user)
	}
	// Pings, the token's expiry and the write timeout are paced by the
	// endpoint's clock.
	s.ep.clock.add(s, s.ep.cfg.PingInterval)
	s.wmu.Lock()
	s.started = true
	s.wmu.Unlock()
	s.kick()
	return true
}

// Reader is the reading half of a transport's connection.
type Reader interface {
	// ReadLoop reads and dispatches what the client sends until the
	// connection ends.
	ReadLoop()
}

// Serve runs r's ReadLoop until it returns, and then releases the socket:
// closes it, waits for its writer and its sends in flight, and unregisters
// it. A panic in ReadLoop ends this socket only.
func (s *Socket) Serve(r Reader) {
	defer s.release()
	defer s.recover()
	r.ReadLoop()
}

// recover, deferred, turns a panic of a service call into the end of this
// socket, not of the process.
func (s *Socket) recover() {
	if v := recover(); v != nil {
		s.ep.log.Error(s.ep.cfg.Name+": panic serving socket", "user", s.user, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
		s.Close(CloseNow)
	}
}

func (s *Socket) release() {
	s.Close(CloseNow) // no-op if the writer already closes
	<-s.writerDone
	s.mu.Lock()
	sends := s.sends
	s.mu.Unlock()
	if sends != nil { // every slot free: no send in flight
		for range cap(sends) {
			sends <- struct{}{}
		}
	}
	s.ep.cfg.Hub.remove(s)
}

// Close asks the writer to end the connection as c says. The first call
// decides; it reports whether this call was it.
func (s *Socket) Close(c Close) bool {
	s.mu.Lock()
	if s.ctx.Err() != nil {
		s.mu.Unlock()
		return false
	}
	s.closing = c
	s.cancel()
	s.mu.Unlock()
	s.kick()
	return true
}

// Heard records that something (a frame, a pong) came from the peer, which
// keeps the socket within its ReadTimeout.
func (s *Socket) Heard() { s.heard.Store(s.ep.clock.stampNow()) }

// Receive is what the transport's reader calls for each frame the client
// sends, before decoding it: it records the frame as heard and applies the
// socket's FrameLimit. serve reports whether to decode and serve the frame;
// stop, that the socket is closing for too many frames (1008) and the
// reader should stop reading now rather than drain what the flooder sent
// before its close frame. A frame over the budget is dropped unserved, and
// the client warned with `error` (code rate_limited) at most once a second.
// A socket that is closing serves nothing.
func (s *Socket) Receive() (serve, stop bool) {
	now := s.ep.clock.now()
	s.heard.Store(s.ep.clock.stamp(now))
	if s.Closing() {
		return false, false
	}
	s.lmu.Lock()
	verdict := s.limiter.Take(now)
	s.lmu.Unlock()
	switch verdict {
	case wire.Serve:
		return true, false
	case wire.Warn:
		s.Enqueue(s.ep.rateLimited)
	case wire.Close:
		if s.Close(CloseRateLimited) {
			s.ep.log.Info(s.ep.cfg.Name+": too many frames, closing socket", "user", s.user)
		}
		return false, true
	}
	return false, false
}

// Logger is the endpoint's logger, never nil.
func (s *Socket) Logger() *slog.Logger { return s.ep.log }

// Closing reports whether the socket started closing.
func (s *Socket) Closing() bool { return s.ctx.Err() != nil }

// Abort drops the connection at once, unblocking the writer and the reader,
// even in the middle of a close handshake.
func (s *Socket) Abort() {
	s.Close(CloseNow)
	s.t.Drop()
}

// fail closes the socket after a failed write or ping; the connection is
// beyond a close handshake.
func (s *Socket) fail(op string, err error) {
	if s.Close(CloseNow) {
		s.ep.log.Debug(s.ep.cfg.Name+": connection lost", "user", s.user, "op", op, "err", err)
	}
}

// finish ends the connection as the first Close call asked.
func (s *Socket) finish() {
	s.mu.Lock()
	c := s.closing
	s.mu.Unlock()
	s.t.End(c)
}
