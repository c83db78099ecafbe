package websocket

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/coder/websocket"

	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
	"github.com/messenger-go/messenger/wire"
)

// Defaults of HandlerConfig.
const (
	DefaultReadLimit      = 64 << 10
	DefaultPingInterval   = 25 * time.Second
	DefaultPingTimeout    = 15 * time.Second
	DefaultWriteTimeout   = 10 * time.Second
	DefaultRequestTimeout = 10 * time.Second
	DefaultResumeGrace    = time.Second
	DefaultRefusalDelay   = time.Second
)

// HandlerConfig configures a Handler.
type HandlerConfig struct {
	// Hub registers the sockets. Required.
	Hub *Hub
	// Service authenticates connections and serves incoming frames and
	// replays. Required.
	Service ports.Service
	// OriginPatterns lists the origins (host patterns, or scheme://host
	// patterns, matched with path.Match) allowed besides the request's own
	// host. Empty means same-origin only. Requests without an Origin header
	// (non-browser clients) are always allowed.
	OriginPatterns []string
	// InsecureSkipVerify disables the origin check entirely. Only for
	// deployments where another layer checks origins.
	InsecureSkipVerify bool
	// ReadLimit is the largest incoming frame in bytes; a larger one closes
	// the socket with 1009. Default DefaultReadLimit.
	ReadLimit int64
	// PingInterval is how often the server pings each socket. Default DefaultPingInterval.
	PingInterval time.Duration
	// PingTimeout is how long a pong may take before the connection is
	// dropped as dead. Default DefaultPingTimeout.
	PingTimeout time.Duration
	// WriteTimeout bounds each frame write; a client that does not take a
	// frame in time is dropped. Default DefaultWriteTimeout.
	WriteTimeout time.Duration
	// ReadTimeout drops a socket from which nothing, no frame and no pong,
	// has come for that long: a peer that vanished, or one that trickles a
	// frame in byte by byte. Default two PingIntervals and a PingTimeout,
	// which a client that answers pings never reaches.
	ReadTimeout time.Duration
	// Opens limits how often one user opens sockets, under the keys
	// "socket:{userId}": each open costs a token check and an upgrade, and a
	// client closed for flooding would otherwise be back at once with a
	// fresh frame budget. A refusal is 429 before the upgrade. Optional: nil
	// applies no limit; an outage of the limiter lets sockets open.
	Opens ports.RateLimiter
	// RefusalDelay holds back a 429 of Opens by that much (the request's
	// context ends it early), so that one connection cannot repeat refused
	// opens quickly. Default DefaultRefusalDelay; negative: at once.
	RefusalDelay time.Duration
	// FrameLimit is the budget of incoming frames of each socket; its zero
	// fields take wire's defaults, a negative PerSecond means none. Frames
	// beyond it are dropped unserved and the client is warned with `error`
	// (code rate_limited) at most once a second; a client that goes on past
	// the tolerance is closed with 1008 (wire.CloseRateLimited).
	FrameLimit wire.FrameLimit
	// RequestTimeout bounds each Service call made for a socket (one incoming
	// frame, one history page). Default DefaultRequestTimeout.
	RequestTimeout time.Duration
	// ReplayPageSize is how many messages one history call of a replay or gap
	// fill reads, at most domain.MaxPageLimit (the default).
	ReplayPageSize int
	// ResumeGrace is how long a new socket whose client announced a resume
	// (the query parameter resume=1) holds back live newMessage frames while
	// waiting for it, so that a reconnecting client gets its replay before
	// anything newer (sequence order). A resume (an empty one included) ends
	// the wait at once; a client that announced none never waits. Default
	// DefaultResumeGrace; negative means no wait.
	ResumeGrace time.Duration
	// Logger receives connection problems. Nil discards them.
	Logger *slog.Logger
}

// Handler serves `GET /ws`: it authenticates, upgrades, and runs the socket
// until it closes. Mount it on the server's mux.
type Handler struct {
	cfg   HandlerConfig
	log   *slog.Logger
	opts  websocket.AcceptOptions
	clock *clock
	// rateLimited is the warning frame of FrameLimit, encoded once.
	rateLimited *frame
}

// NewHandler returns a Handler with defaults filled in.
func NewHandler(cfg HandlerConfig) (*Handler, error) {
	if cfg.Hub == nil || cfg.Service == nil {
		return nil, domain.Errorf(domain.KindInvalid, "websocket: HandlerConfig.Hub and Service are required")
	}
	if cfg.ReadLimit < 0 || cfg.PingInterval < 0 || cfg.PingTimeout < 0 || cfg.WriteTimeout < 0 || cfg.ReadTimeout < 0 ||
		cfg.RequestTimeout < 0 || cfg.ReplayPageSize < 0 || cfg.ReplayPageSize > domain.MaxPageLimit {
		return nil, domain.Errorf(domain.KindInvalid, "websocket: HandlerConfig value out of range")
	}
	limit, err := cfg.FrameLimit.WithDefaults()
	if err != nil {
		return nil, err
	}
	cfg.FrameLimit = limit
	fill := func(d *time.Duration, def time.Duration) {
		if *d == 0 {
			*d = def
		}
	}
	fill(&cfg.PingInterval, DefaultPingInterval)
	fill(&cfg.PingTimeout, DefaultPingTimeout)
	fill(&cfg.WriteTimeout, DefaultWriteTimeout)
	fill(&cfg.RequestTimeout, DefaultRequestTimeout)
	fill(&cfg.ReadTimeout, 2*cfg.PingInterval+cfg.PingTimeout)
	fill(&cfg.RefusalDelay, DefaultRefusalDelay)
	if cfg.ReadLimit == 0 {
		cfg.ReadLimit = DefaultReadLimit
	}
	switch {
	case cfg.ResumeGrace == 0:
		cfg.ResumeGrace = DefaultResumeGrace
	case cfg.ResumeGrace < 0:
		cfg.ResumeGrace = 0
	}
	if cfg.ReplayPageSize == 0 {
		cfg.ReplayPageSize = domain.MaxPageLimit
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	rateLimited, err := encodeFrame(wire.RateLimitedEvent(cfg.FrameLimit))
	if err != nil {
		return nil, err
	}
	return &Handler{
		cfg:         cfg,
		log:         log,
		clock:       newClock(&cfg),
		rateLimited: rateLimited,
		opts: websocket.AcceptOptions{
			OriginPatterns:     cfg.OriginPatterns,
			InsecureSkipVerify: cfg.InsecureSkipVerify,
		},
	}, nil
}

// ServeHTTP authenticates the request, upgrades it and hands the socket to a
// reader and a writer goroutine of its own, which serve it until it closes.
// Errors before the upgrade are JSON: 401 for a missing or invalid token, 400
// for a resume parameter other than 1 or 0, 429 for a user opening sockets
// too often (Opens), 403 for a foreign origin, 503 during shutdown.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	user, expires, err := h.authenticate(r)
	if err != nil {
		wire.WriteHTTPError(w, err)
		return
	}
	if err := h.allowOpen(r.Context(), user); err != nil {
		wire.WriteHTTPError(w, err)
		return
	}
	hold, err := announcesResume(r)
	if err != nil {
		wire.WriteHTTPError(w, err)
		return
	}
	hub := h.cfg.Hub
	if hub.isClosed() {
		wire.WriteHTTPError(w, domain.Errorf(domain.KindUnavailable, "server shutting down"))
		return
	}
	rec := &hijackRecorder{ResponseWriter: w, readBuffer: int(min(2*h.cfg.ReadLimit, 1<<30))}
	conn, err := websocket.Accept(rec, r, &h.opts)
	if err != nil {
		h.log.Debug("websocket: upgrade refused", "user", user, "err", err)
		return // Accept wrote the response
	}
	conn.SetReadLimit(h.cfg.ReadLimit)

	s, err := newSocket(h, user, expires, conn, rec.conn, hold)
	if err != nil {
		h.log.Error("websocket: new socket", "err", err)
		_ = conn.Close(websocket.StatusInternalError, "internal error")
		return
	}
	registered, err := encodeFrame(domain.Event{Name: domain.EventRegistered, Data: domain.RegisteredPayload{UserID: user}})
	if err != nil {
		h.log.Error("websocket: encode registered", "err", err)
		_ = conn.Close(websocket.StatusInternalError, "internal error")
		return
	}
	s.enqueue(registered) // first in an empty queue; it is never full here
	ok, first := hub.add(s)
	if !ok {
		_ = conn.Close(closeGoingAway, reasonShutdown)
		return
	}
	// registered goes out now: the socket already receives local events.
	go s.writeLoop()
	// The reader gets a goroutine of its own and ServeHTTP returns: the
	// hijacked connection no longer needs the HTTP server's goroutine, whose
	// deep stack, and the request it holds, every garbage collection would
	// otherwise scan for the socket's whole life.
	go h.serve(s, first)
}

// authenticate verifies the access token of the request, from the
// Authorization header or the access_token query parameter. A malformed
// token is a missing credential.
func (h *Handler) authenticate(r *http.Request) (domain.UserID, time.Time, error) {
	token, err := wire.BearerToken(r, true)
	if err != nil {
		return "", time.Time{}, err
	}
	user, expires, err := h.cfg.Service.Authenticate(r.Context(), token)
	if err == nil {
		return user, expires, nil
	}
	switch domain.KindOf(err) {
	case domain.KindInternal:
		h.log.Error("websocket: authenticate", "err", err)
	case domain.KindInvalid:
		err = domain.Wrap(domain.KindUnauthenticated, err, domain.MessageOf(err))
	}
	return "", time.Time{}, err
}

// allowOpen applies Opens to a new socket of user. A refusal comes
// RefusalDelay later.
func (h *Handler) allowOpen(ctx context.Context, user domain.UserID) error {
	if h.cfg.Opens == nil {
		return nil
	}
	err := h.cfg.Opens.Allow(ctx, "socket:"+string(user))
	switch {
	case err == nil:
		return nil
	case domain.KindOf(err) != domain.KindRateLimited:
		h.log.Warn("websocket: open limiter unavailable; allowing", "user", user, "err", err)
		return nil
	}
	if h.cfg.RefusalDelay > 0 {
		t := time.NewTimer(h.cfg.RefusalDelay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
		}
	}
	return domain.Wrap(domain.KindRateLimited, err, "too many sockets opened; wait a little")
}

// announcesResume reads the resume query parameter: with resume=1 the client
// announces that its first frame will be a resume, and live messages wait for
// it (ResumeGrace at most); without it nothing waits.
func announcesResume(r *http.Request) (bool, error) {
	switch r.URL.Query().Get("resume") {
	case "", "0":
		return false, nil
	case "1":
		return true, nil
	}
	return false, domain.Errorf(domain.KindInvalid, "resume must be 1 (a resume follows) or 0")
}

// serve registers the user's presence (for the node's first socket of the
// user), reads the socket until it closes, and releases it.
func (h *Handler) serve(s *socket, first bool) {
	defer func() {
		s.close(closeNow, "") // no-op if the writer already closes
		<-s.writerDone
		h.cfg.Hub.remove(s)
	}()
	defer func() { // a panicking service call ends this socket, not the process
		if v := recover(); v != nil {
			h.log.Error("websocket: panic serving socket", "user", s.user, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
		}
	}()
	// Presence goes before reading, off the writer's path, so a slow presence
	// store delays neither.
	if first {
		s.hub.syncPresence(s.ctx, s.user)
	}
	h.readLoop(s)
}

// readLoop reads frames until the connection closes, serving those within
// the socket's FrameLimit. It reads with a context that never ends so that a
// close requested by the writer can complete its handshake; the writer or the
// peer ends the connection, which ends the read.
func (h *Handler) readLoop(s *socket) {
	limiter := wire.NewFrameLimiter(h.cfg.FrameLimit, h.clock.now())
	for {
		_, data, err := s.conn.Read(context.Background())
		if err != nil {
			h.log.Debug("websocket: read ended", "user", s.user, "err", err)
			return
		}
		now := h.clock.now()
		s.heard.Store(h.clock.stamp(now))
		if s.ctx.Err() != nil {
			continue // closing: drain until the handshake ends
		}
		switch limiter.Take(now) {
		case wire.Serve:
			h.dispatch(s, data)
		case wire.Warn:
			s.enqueue(h.rateLimited)
		case wire.Refuse:
		case wire.Close:
			if s.close(closeRateLimited, wire.ReasonRateLimited) {
				h.log.Info("websocket: too many frames, closing socket", "user", s.user)
			}
			// The flooder's close frame would come after every frame it
			// has sent meanwhile, which the handshake would read: stop
			// reading now, and the close ends once our close frame is
			// written.
			if s.raw != nil {
				_ = s.raw.SetReadDeadline(time.Now())
			}
		}
	}
}

// dispatch serves one incoming frame. Every failure becomes an error event on
// the socket, which stays open.
func (h *Handler) dispatch(s *socket, data []byte) {
	in, err := wire.DecodeFrame(data)
	if err != nil {
		h.replyError(s, err)
		return
	}
	ctx, cancel := context.WithTimeout(s.ctx, h.cfg.RequestTimeout)
	defer cancel()
	switch in.Event {
	case domain.EventTyping:
		err = h.cfg.Service.Typing(ctx, s.user, in.Typing.ReceiverID, in.Typing.IsTyping)
	case domain.EventJoinChat:
		err = h.joinChat(ctx, s, in.JoinChat.ConversationID)
	case domain.EventAck:
		_, err = h.cfg.Service.Ack(ctx, s.user, in.Ack.ConversationID, in.Ack.UpTo)
	case domain.EventResume:
		// The writer replays before it sends anything queued after this; an
		// empty resume ends the hold for it all the same.
		s.enqueue(&frame{resume: in.Resume.Conversations})
	}
	if err != nil {
		h.replyError(s, err)
	}
}

func (h *Handler) joinChat(ctx context.Context, s *socket, conv domain.ConversationID) error {
	if err := h.cfg.Service.JoinChat(ctx, s.user, conv); err != nil {
		return err
	}
	return h.reply(s, domain.Event{Name: domain.EventChatRegistered, Data: domain.ConversationPayload{ConversationID: conv}})
}

func (h *Handler) reply(s *socket, ev domain.Event) error {
	f, err := encodeFrame(ev)
	if err != nil {
		return err
	}
	s.enqueue(f)
	return nil
}

func (h *Handler) replyError(s *socket, err error) {
	if s.ctx.Err() != nil {
		return // closing; the failure is the closing itself
	}
	if domain.KindOf(err) == domain.KindInternal {
		h.log.Error("websocket: request failed", "user", s.user, "err", err)
	}
	f, encErr := encodeFrame(wire.ErrorEvent(err))
	if encErr != nil {
		return
	}
	s.enqueue(f)
}

// hijackRecorder keeps the connection the upgrade hijacks, so that Shutdown can
// cut it even while a close handshake is waiting on an unresponsive peer.
type hijackRecorder struct {
	http.ResponseWriter
	readBuffer int // the kernel receive buffer to set, in bytes; 0: the system's
	conn       net.Conn
}

// Hijack also clears the deadlines the HTTP server set on the connection for
// the request (its ReadTimeout and WriteTimeout), which would otherwise end
// the socket that long after it opened: from here the handler's clock
// bounds reads and writes. And it caps the kernel's receive buffer of the
// connection at readBuffer: room for two frames of the largest size, far
// more than a client within its frame limit sends, and all that a flooding
// client makes the kernel take in before its socket is closed (the
// buffer's autotuning would let it grow to megabytes).
func (r *hijackRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(r.ResponseWriter).Hijack()
	if err == nil {
		err = conn.SetDeadline(time.Time{})
		if err != nil {
			_ = conn.Close()
			conn, brw = nil, nil
		}
	}
	if err == nil && r.readBuffer > 0 {
		raw := conn
		if tc, ok := raw.(interface{ NetConn() net.Conn }); ok { // TLS
			raw = tc.NetConn()
		}
		if rb, ok := raw.(interface{ SetReadBuffer(int) error }); ok {
			_ = rb.SetReadBuffer(r.readBuffer)
		}
	}
	r.conn = conn
	return conn, brw, err
}

func (r *hijackRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
