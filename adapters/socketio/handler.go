package socketio

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
	"github.com/messenger-go/messenger/realtime"
	"github.com/messenger-go/messenger/wire"
)

// Defaults of HandlerConfig.
const (
	DefaultReadLimit      = 64 << 10
	DefaultConnectTimeout = 10 * time.Second
	DefaultPollBuffer     = 256 << 10
)

// HandlerConfig configures a Handler.
type HandlerConfig struct {
	// Hub registers the sockets. Required.
	Hub *realtime.Hub
	// Service authenticates connections and serves incoming events and
	// replays. Required.
	Service ports.Service
	// Node names this server process. Every session id starts with it
	// ("<node>.<random>", characters outside [A-Za-z0-9_-] replaced by "-"),
	// so that a proxy can send each request of a long-polling session to the
	// node that holds it (see deploy/nginx.conf). Empty: no prefix.
	Node ports.NodeID
	// OriginPatterns lists the origins (host patterns, or scheme://host
	// patterns, matched with path.Match) allowed besides the request's own
	// host, for both transports. Empty means same-origin only. Requests
	// without an Origin header (non-browser clients) are always allowed.
	OriginPatterns []string
	// InsecureSkipVerify disables the origin check entirely. Only for
	// deployments where another layer checks origins.
	InsecureSkipVerify bool
	// ReadLimit is the largest WebSocket message and long-polling request
	// body in bytes, announced to clients as maxPayload; a larger one ends
	// the session (WebSocket close 1009, or 413). Default DefaultReadLimit.
	ReadLimit int64
	// ConnectTimeout is how long a session may stay without a connected
	// socket (the Socket.IO connect with a valid token) before it is closed.
	// Default DefaultConnectTimeout.
	ConnectTimeout time.Duration
	// PollBuffer is how many bytes of packets may wait for a long-polling
	// client's next request; the socket's writer waits beyond it, and a
	// client that stops polling ends up closed as too slow or timed out.
	// Default DefaultPollBuffer.
	PollBuffer int
	// Timing paces the sockets, with realtime's defaults. The Engine.IO
	// heartbeat is the server's ping every PingInterval, which the client
	// answers within PingTimeout.
	realtime.Timing
	// Logger receives connection problems. Nil discards them.
	Logger *slog.Logger
	// Delivered, when set, is called with a message's send time each time a
	// live newMessage has been written to a socket (end-to-end latency).
	Delivered func(sentAt time.Time)
}

// Handler serves `/socket.io/`: Engine.IO 4 (HTTP long-polling, WebSocket,
// the upgrade from one to the other) and Socket.IO 5's default namespace.
// Mount it on the server's mux for every method; call Drain when the HTTP
// server starts shutting down.
type Handler struct {
	cfg    HandlerConfig
	log    *slog.Logger
	ep     *realtime.Endpoint
	opts   websocket.AcceptOptions
	prefix string // of every session id
	open   []byte // the open packet's JSON, without the session id

	buffers  buffers
	mu       sync.Mutex
	sessions map[string]*session // the sessions that long-polling requests may name
	draining bool
}

// NewHandler returns a Handler with defaults filled in.
// Errors: KindInvalid for a missing Hub or Service or a value out of range.
func NewHandler(cfg HandlerConfig) (*Handler, error) {
	if cfg.ReadLimit < 0 || cfg.ConnectTimeout < 0 || cfg.PollBuffer < 0 {
		return nil, domain.Errorf(domain.KindInvalid, "socketio: HandlerConfig value out of range")
	}
	if cfg.ReadLimit == 0 {
		cfg.ReadLimit = DefaultReadLimit
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = DefaultConnectTimeout
	}
	if cfg.PollBuffer == 0 {
		cfg.PollBuffer = DefaultPollBuffer
	}
	ep, err := realtime.NewEndpoint(realtime.Config{
		Hub: cfg.Hub, Service: cfg.Service, Timing: cfg.Timing, Logger: cfg.Logger, Name: "socketio", Delivered: cfg.Delivered,
	})
	if err != nil {
		return nil, err
	}
	rc := ep.Config()
	// The client gives up on a server whose ping is later than pingInterval
	// plus pingTimeout after the last. The endpoint's clock spreads each
	// socket's first ping over half an interval either side and acts within
	// a second: the announced timeout covers both.
	open, _ := json.Marshal(struct {
		PingInterval int64 `json:"pingInterval"`
		PingTimeout  int64 `json:"pingTimeout"`
		MaxPayload   int64 `json:"maxPayload"`
	}{
		PingInterval: rc.PingInterval.Milliseconds(),
		PingTimeout:  (rc.PingTimeout + rc.PingInterval/2 + time.Second).Milliseconds(),
		MaxPayload:   cfg.ReadLimit,
	}) // numbers only: never fails
	return &Handler{
		cfg:    cfg,
		log:    ep.Logger(),
		ep:     ep,
		prefix: sidPrefix(cfg.Node),
		open:   open,
		opts: websocket.AcceptOptions{
			OriginPatterns:     cfg.OriginPatterns,
			InsecureSkipVerify: cfg.InsecureSkipVerify,
		},
		sessions: make(map[string]*session),
	}, nil
}

// sidPrefix is node as the start of a session id: "<node>." with characters
// outside [A-Za-z0-9_-] replaced by "-".
func sidPrefix(node ports.NodeID) string {
	if node == "" {
		return ""
	}
	b := []byte(node)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			b[i] = '-'
		}
	}
	return string(b) + "."
}

// newID returns a random id of 16 bytes, URL-safe.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// ServeHTTP routes an Engine.IO request: a handshake (no sid) by polling or
// WebSocket, a long-polling GET or POST of a session, or the WebSocket that
// upgrades a session. Refusals before a session exists are the REST API's
// JSON errors: 400 for a bad protocol version, transport, unknown session or
// resume parameter; 403 for a foreign origin; 405 for another method; 413
// for a body over ReadLimit; 503 during shutdown.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodOptions {
		h.preflight(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST, OPTIONS")
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(http.StatusMethodNotAllowed)
		_, _ = w.Write([]byte(`{"error":{"code":"invalid","message":"method not allowed"}}` + "\n"))
		return
	}
	q := r.URL.Query()
	if q.Get("EIO") != "4" {
		wire.WriteHTTPError(w, domain.Errorf(domain.KindInvalid, "unsupported protocol version: EIO must be 4"))
		return
	}
	transport := q.Get("transport")
	if transport != "polling" && transport != "websocket" {
		wire.WriteHTTPError(w, domain.Errorf(domain.KindInvalid, "unknown transport: want polling or websocket"))
		return
	}
	if transport == "polling" && !h.allowOrigin(w, r) {
		wire.WriteHTTPError(w, domain.Errorf(domain.KindForbidden, "origin not allowed"))
		return
	}
	sid := q.Get("sid")
	switch {
	case sid == "" && r.Method == http.MethodGet:
		h.handshake(w, r, transport)
	case sid == "":
		wire.WriteHTTPError(w, domain.Errorf(domain.KindInvalid, "a handshake is a GET"))
	case transport == "websocket" && r.Method == http.MethodGet:
		h.upgrade(w, r, sid)
	case transport == "polling" && r.Method == http.MethodGet:
		h.pollGet(w, r, sid)
	case transport == "polling":
		h.pollPost(w, r, sid)
	default:
		wire.WriteHTTPError(w, domain.Errorf(domain.KindInvalid, "a WebSocket is opened with a GET"))
	}
}

// Drain ends the long-polling sessions and the sessions not yet connected,
// with realtime.CloseShutdown: their parked requests are ones that
// http.Server.Shutdown would wait for. Register it with the server's
// RegisterOnShutdown; the WebSocket sessions close with the Hub's Shutdown.
// New sessions are refused from then on.
func (h *Handler) Drain() {
	h.mu.Lock()
	h.draining = true
	all := make([]*session, 0, len(h.sessions))
	for _, s := range h.sessions {
		all = append(all, s)
	}
	h.mu.Unlock()
	for _, s := range all {
		s.shutdown()
	}
}

// lookup returns the session sid names, or answers 400.
func (h *Handler) lookup(w http.ResponseWriter, sid string) *session {
	h.mu.Lock()
	s := h.sessions[sid]
	h.mu.Unlock()
	if s == nil {
		wire.WriteHTTPError(w, domain.Errorf(domain.KindInvalid, "unknown session id"))
	}
	return s
}

func (h *Handler) forget(s *session) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.sessions[s.sid] == s {
		delete(h.sessions, s.sid)
	}
}

// handshake opens a session: its open packet is the body of the polling
// GET, or the first message of the WebSocket.
func (h *Handler) handshake(w http.ResponseWriter, r *http.Request, transport string) {
	hold, err := wire.AnnouncesResume(r)
	if err != nil {
		wire.WriteHTTPError(w, err)
		return
	}
	h.mu.Lock()
	refused := h.draining || h.cfg.Hub.Closed()
	h.mu.Unlock()
	if refused {
		wire.WriteHTTPError(w, domain.Errorf(domain.KindUnavailable, "server shutting down"))
		return
	}
	s := h.newSession(r, hold)
	if transport == "websocket" {
		conn, rec, ok := h.accept(w, r)
		if !ok {
			return
		}
		s.ws, s.raw, s.cork = conn, rec.Conn, rec.Cork
		s.startTimer()
		if err := s.sendPacket(r.Context(), s.openPacket(false)); err != nil {
			s.end()
			return
		}
		// The reader gets a goroutine of its own and ServeHTTP returns, as
		// /ws does: the HTTP server's goroutine and its request are not
		// kept for the socket's life.
		go s.run(conn)
		return
	}
	s.poll = newPoller(h.cfg.PollBuffer)
	s.handoff = make(chan *websocket.Conn, 1)
	h.mu.Lock()
	h.sessions[s.sid] = s
	h.mu.Unlock()
	s.startTimer()
	writePayload(w, s.openPacket(true))
}

// accept upgrades r to a WebSocket limited to ReadLimit; rec holds the
// connection under it. On failure the response is written and ok is false.
func (h *Handler) accept(w http.ResponseWriter, r *http.Request) (conn *websocket.Conn, rec *wire.HijackRecorder, ok bool) {
	rec = &wire.HijackRecorder{ResponseWriter: w, ReadBuffer: int(min(2*h.cfg.ReadLimit, 1<<30))}
	conn, err := websocket.Accept(rec, r, &h.opts)
	if err != nil {
		h.log.Debug("socketio: upgrade refused", "err", err)
		return nil, nil, false // Accept wrote the response
	}
	conn.SetReadLimit(h.cfg.ReadLimit)
	return conn, rec, true
}

// allowOrigin checks a long-polling request's Origin as the WebSocket
// upgrade does, and answers an allowed foreign one with the CORS headers.
func (h *Handler) allowOrigin(w http.ResponseWriter, r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return h.cfg.InsecureSkipVerify
	}
	if strings.EqualFold(r.Host, u.Host) {
		return true
	}
	allowed := h.cfg.InsecureSkipVerify
	for _, pattern := range h.cfg.OriginPatterns {
		target := u.Host
		if strings.Contains(pattern, "://") {
			target = u.Scheme + "://" + u.Host
		}
		if ok, _ := path.Match(strings.ToLower(pattern), strings.ToLower(target)); ok {
			allowed = true
			break
		}
	}
	if allowed {
		hdr := w.Header()
		hdr.Set("Access-Control-Allow-Origin", origin)
		hdr.Set("Access-Control-Allow-Credentials", "true")
		hdr.Add("Vary", "Origin")
	}
	return allowed
}

// preflight answers a CORS preflight of a long-polling request.
func (h *Handler) preflight(w http.ResponseWriter, r *http.Request) {
	if !h.allowOrigin(w, r) {
		wire.WriteHTTPError(w, domain.Errorf(domain.KindForbidden, "origin not allowed"))
		return
	}
	hdr := w.Header()
	hdr.Set("Access-Control-Allow-Methods", "GET, POST")
	hdr.Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
	hdr.Set("Access-Control-Max-Age", "600")
	w.WriteHeader(http.StatusNoContent)
}

// writePayload answers a long-polling GET with packets joined by the
// separator.
func writePayload(w http.ResponseWriter, payload []byte) {
	hdr := w.Header()
	hdr.Set("Content-Type", "text/plain; charset=UTF-8")
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(payload)
}
