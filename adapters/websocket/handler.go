package websocket

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/coder/websocket"

	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
)

// Defaults of HandlerConfig.
const (
	DefaultReadLimit      = 64 << 10
	DefaultPingInterval   = 25 * time.Second
	DefaultPingTimeout    = 15 * time.Second
	DefaultWriteTimeout   = 10 * time.Second
	DefaultRequestTimeout = 10 * time.Second
	DefaultResumeGrace    = time.Second
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
	// RequestTimeout bounds each Service call made for a socket (one incoming
	// frame, one history page). Default DefaultRequestTimeout.
	RequestTimeout time.Duration
	// ReplayPageSize is how many messages one history call of a replay or gap
	// fill reads, at most domain.MaxPageLimit (the default).
	ReplayPageSize int
	// ResumeGrace is how long a new socket holds back live newMessage frames
	// while waiting for the client's first resume, so that a reconnecting
	// client gets its replay before anything newer (sequence order). A resume
	// (an empty one included) ends the wait at once. Default
	// DefaultResumeGrace; negative means no wait.
	ResumeGrace time.Duration
	// Delivered, when set, is called with a message's send time each time a
	// live newMessage frame has been written to a socket (end-to-end latency).
	// It runs on the socket's writer: it must be quick.
	Delivered func(sentAt time.Time)
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
}

// NewHandler returns a Handler with defaults filled in.
func NewHandler(cfg HandlerConfig) (*Handler, error) {
	if cfg.Hub == nil || cfg.Service == nil {
		return nil, domain.Errorf(domain.KindInvalid, "websocket: HandlerConfig.Hub and Service are required")
	}
	if cfg.ReadLimit < 0 || cfg.PingInterval < 0 || cfg.PingTimeout < 0 || cfg.WriteTimeout < 0 ||
		cfg.RequestTimeout < 0 || cfg.ReplayPageSize < 0 || cfg.ReplayPageSize > domain.MaxPageLimit {
		return nil, domain.Errorf(domain.KindInvalid, "websocket: HandlerConfig value out of range")
	}
	fill := func(d *time.Duration, def time.Duration) {
		if *d == 0 {
			*d = def
		}
	}
	fill(&cfg.PingInterval, DefaultPingInterval)
	fill(&cfg.PingTimeout, DefaultPingTimeout)
	fill(&cfg.WriteTimeout, DefaultWriteTimeout)
	fill(&cfg.RequestTimeout, DefaultRequestTimeout)
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
	return &Handler{
		cfg:   cfg,
		log:   log,
		clock: newClock(&cfg),
		opts: websocket.AcceptOptions{
			OriginPatterns:     cfg.OriginPatterns,
			InsecureSkipVerify: cfg.InsecureSkipVerify,
		},
	}, nil
}

// ServeHTTP authenticates the request, upgrades it and hands the socket to a
// reader and a writer goroutine of its own, which serve it until it closes.
// Errors before the upgrade are JSON: 401 for a missing or invalid
// token, 403 for a foreign origin, 503 during shutdown.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	token := accessToken(r)
	if token == "" {
		writeHTTPError(w, domain.Errorf(domain.KindUnauthenticated, "missing access token"))
		return
	}
	user, expires, err := h.cfg.Service.Authenticate(r.Context(), token)
	if err != nil {
		if domain.KindOf(err) == domain.KindInternal {
			h.log.Error("websocket: authenticate", "err", err)
		}
		writeHTTPError(w, err)
		return
	}
	hub := h.cfg.Hub
	if hub.isClosed() {
		writeHTTPError(w, domain.Errorf(domain.KindUnavailable, "server shutting down"))
		return
	}
	rec := &hijackRecorder{ResponseWriter: w}
	conn, err := websocket.Accept(rec, r, &h.opts)
	if err != nil {
		h.log.Debug("websocket: upgrade refused", "user", user, "err", err)
		return // Accept wrote the response
	}
	conn.SetReadLimit(h.cfg.ReadLimit)

	s := newSocket(h, user, expires, conn, rec.conn)
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

// readLoop reads frames until the connection closes. It reads with a context
// that never ends so that a close requested by the writer can complete its
// handshake; the writer or the peer ends the connection, which ends the read.
func (h *Handler) readLoop(s *socket) {
	for {
		_, data, err := s.conn.Read(context.Background())
		if err != nil {
			h.log.Debug("websocket: read ended", "user", s.user, "err", err)
			return
		}
		if s.ctx.Err() != nil {
			continue // closing: drain until the handshake ends
		}
		h.dispatch(s, data)
	}
}

// inbound is a frame from a client.
type inbound struct {
	Event string          `json:"event"`
	Data  json.RawMessage `json:"data"`
}

// dispatch serves one incoming frame. Every failure becomes an error event on
// the socket, which stays open.
func (h *Handler) dispatch(s *socket, data []byte) {
	var in inbound
	if err := json.Unmarshal(data, &in); err != nil || in.Event == "" {
		h.replyError(s, domain.Errorf(domain.KindInvalid, `malformed frame: want {"event": name, "data": {...}}`))
		return
	}
	ctx, cancel := context.WithTimeout(s.ctx, h.cfg.RequestTimeout)
	defer cancel()
	var err error
	switch in.Event {
	case domain.EventTyping:
		err = h.typing(ctx, s, in.Data)
	case domain.EventJoinChat:
		err = h.joinChat(ctx, s, in.Data)
	case domain.EventAck:
		err = h.ack(ctx, s, in.Data)
	case domain.EventResume:
		err = h.resume(s, in.Data)
	default:
		err = domain.Errorf(domain.KindInvalid, "unknown event %.64q", in.Event)
	}
	if err != nil {
		h.replyError(s, err)
	}
}

func (h *Handler) typing(ctx context.Context, s *socket, data json.RawMessage) error {
	var p struct {
		ReceiverID string `json:"receiverId"`
		IsTyping   bool   `json:"isTyping"`
	}
	if err := decodeData(domain.EventTyping, data, &p); err != nil {
		return err
	}
	receiver, err := domain.ParseUserID(p.ReceiverID)
	if err != nil {
		return err
	}
	return h.cfg.Service.Typing(ctx, s.user, receiver, p.IsTyping)
}

func (h *Handler) joinChat(ctx context.Context, s *socket, data json.RawMessage) error {
	var p struct {
		ConversationID string `json:"conversationId"`
	}
	if err := decodeData(domain.EventJoinChat, data, &p); err != nil {
		return err
	}
	conv, err := domain.ParseConversationID(p.ConversationID)
	if err != nil {
		return err
	}
	if err := h.cfg.Service.JoinChat(ctx, s.user, conv); err != nil {
		return err
	}
	return h.reply(s, domain.Event{Name: domain.EventChatRegistered, Data: domain.ConversationPayload{ConversationID: conv}})
}

func (h *Handler) ack(ctx context.Context, s *socket, data json.RawMessage) error {
	var p struct {
		ConversationID string          `json:"conversationId"`
		UpTo           domain.Sequence `json:"upToSequenceId"`
	}
	if err := decodeData(domain.EventAck, data, &p); err != nil {
		return err
	}
	conv, err := domain.ParseConversationID(p.ConversationID)
	if err != nil {
		return err
	}
	if p.UpTo < 0 {
		return domain.Errorf(domain.KindInvalid, "upToSequenceId must not be negative")
	}
	_, err = h.cfg.Service.Ack(ctx, s.user, conv, p.UpTo)
	return err
}

// resume validates the request and hands it to the writer, which replays
// before it sends anything queued after it.
func (h *Handler) resume(s *socket, data json.RawMessage) error {
	var p struct {
		Conversations map[string]domain.Sequence `json:"conversations"`
	}
	if err := decodeData(domain.EventResume, data, &p); err != nil {
		return err
	}
	req := make(map[domain.ConversationID]domain.Sequence, len(p.Conversations))
	for raw, last := range p.Conversations {
		conv, err := domain.ParseConversationID(raw)
		if err != nil {
			return err
		}
		if last < 0 {
			return domain.Errorf(domain.KindInvalid, "lastSequenceId must not be negative")
		}
		if prev, ok := req[conv]; !ok || last > prev {
			req[conv] = last // two spellings of one conversation: keep the later cursor
		}
	}
	if len(req) > 0 {
		s.enqueue(&frame{resume: req})
	}
	return nil
}

func decodeData(event string, data json.RawMessage, v any) error {
	if len(data) == 0 || string(data) == "null" {
		return domain.Errorf(domain.KindInvalid, "%s needs data", event)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return domain.Errorf(domain.KindInvalid, "malformed %s data", event)
	}
	return nil
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
	f, encErr := encodeFrame(domain.ErrorEvent(err))
	if encErr != nil {
		return
	}
	s.enqueue(f)
}

// accessToken returns the bearer token of the Authorization header, or else
// the access_token query parameter (browsers cannot set headers on a
// WebSocket request).
func accessToken(r *http.Request) string {
	if auth := r.Header.Get("Authorization"); auth != "" {
		scheme, token, ok := strings.Cut(auth, " ")
		if ok && strings.EqualFold(scheme, "Bearer") {
			return strings.TrimSpace(token)
		}
		return ""
	}
	return r.URL.Query().Get("access_token")
}

// httpStatus maps the kinds that can occur before the upgrade to a status.
func httpStatus(k domain.Kind) int {
	switch k {
	case domain.KindUnauthenticated, domain.KindInvalid:
		return http.StatusUnauthorized
	case domain.KindRateLimited:
		return http.StatusTooManyRequests
	case domain.KindUnavailable:
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}

// writeHTTPError writes the REST error body {"error": {"code", "message"}}.
func writeHTTPError(w http.ResponseWriter, err error) {
	kind := domain.KindOf(err)
	if kind == domain.KindInvalid {
		kind = domain.KindUnauthenticated // a malformed token is a missing credential
	}
	status := httpStatus(kind)
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="messenger"`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]domain.ErrorPayload{
		"error": {Code: kind.String(), Message: domain.MessageOf(err)},
	})
}

// hijackRecorder keeps the connection the upgrade hijacks, so that Shutdown can
// cut it even while a close handshake is waiting on an unresponsive peer.
type hijackRecorder struct {
	http.ResponseWriter
	conn net.Conn
}

func (r *hijackRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(r.ResponseWriter).Hijack()
	r.conn = conn
	return conn, brw, err
}

func (r *hijackRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
