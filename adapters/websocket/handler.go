package websocket

import (
	"context"
	"log/slog"
	"net/http"
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
	DefaultPingInterval   = realtime.DefaultPingInterval
	DefaultPingTimeout    = realtime.DefaultPingTimeout
	DefaultWriteTimeout   = realtime.DefaultWriteTimeout
	DefaultRequestTimeout = realtime.DefaultRequestTimeout
	DefaultResumeGrace    = realtime.DefaultResumeGrace
	DefaultRefusalDelay   = time.Second
)

// HandlerConfig configures a Handler.
type HandlerConfig struct {
	// Hub registers the sockets. Required.
	Hub *realtime.Hub
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
	// PingInterval, PingTimeout, WriteTimeout, ReadTimeout, FrameLimit,
	// RequestTimeout, ReplayPageSize and ResumeGrace are realtime.Timing's,
	// with its defaults; a client announces the resume that ResumeGrace
	// waits for with the query parameter resume=1. Frames beyond FrameLimit
	// are dropped unserved and the client is warned with `error` (code
	// rate_limited) at most once a second; a client that goes on past the
	// tolerance is closed with 1008 (wire.CloseRateLimited).
	PingInterval time.Duration
	PingTimeout  time.Duration
	WriteTimeout time.Duration
	ReadTimeout  time.Duration
	FrameLimit   wire.FrameLimit
	// Opens limits how often one user opens sockets, under the keys
	// "socket:{userId}": each open costs a token check and an upgrade, and a
	// client closed for flooding would otherwise be back at once with a
	// fresh frame budget. A refusal is 429 before the upgrade. Optional: nil
	// applies no limit; an outage of the limiter lets sockets open.
	Opens ports.RateLimiter
	// RefusalDelay holds back a 429 of Opens by that much (the request's
	// context ends it early), so that one connection cannot repeat refused
	// opens quickly. Default DefaultRefusalDelay; negative: at once.
	RefusalDelay   time.Duration
	RequestTimeout time.Duration
	ReplayPageSize int
	ResumeGrace    time.Duration
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
	cfg  HandlerConfig
	log  *slog.Logger
	opts websocket.AcceptOptions
	ep   *realtime.Endpoint
}

// NewHandler returns a Handler with defaults filled in.
func NewHandler(cfg HandlerConfig) (*Handler, error) {
	if cfg.ReadLimit < 0 {
		return nil, domain.Errorf(domain.KindInvalid, "websocket: HandlerConfig value out of range")
	}
	if cfg.RefusalDelay == 0 {
		cfg.RefusalDelay = DefaultRefusalDelay
	}
	if cfg.ReadLimit == 0 {
		cfg.ReadLimit = DefaultReadLimit
	}
	ep, err := realtime.NewEndpoint(realtime.Config{
		Hub:     cfg.Hub,
		Service: cfg.Service,
		Timing: realtime.Timing{
			PingInterval: cfg.PingInterval, PingTimeout: cfg.PingTimeout, WriteTimeout: cfg.WriteTimeout,
			ReadTimeout: cfg.ReadTimeout, FrameLimit: cfg.FrameLimit,
			RequestTimeout: cfg.RequestTimeout, ReplayPageSize: cfg.ReplayPageSize, ResumeGrace: cfg.ResumeGrace,
		},
		Logger:    cfg.Logger,
		Name:      "websocket",
		Delivered: cfg.Delivered,
	})
	if err != nil {
		return nil, err
	}
	return &Handler{
		cfg: cfg,
		log: ep.Logger(),
		ep:  ep,
		opts: websocket.AcceptOptions{
			OriginPatterns:     cfg.OriginPatterns,
			InsecureSkipVerify: cfg.InsecureSkipVerify,
		},
	}, nil
}

// ServeHTTP authenticates the request, upgrades it and hands the socket to a
// reader goroutine of its own and to the realtime writer, which serve it
// until it closes.
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
	hold, err := wire.AnnouncesResume(r)
	if err != nil {
		wire.WriteHTTPError(w, err)
		return
	}
	hub := h.cfg.Hub
	if hub.Closed() {
		wire.WriteHTTPError(w, domain.Errorf(domain.KindUnavailable, "server shutting down"))
		return
	}
	rec := &wire.HijackRecorder{ResponseWriter: w, ReadBuffer: int(min(2*h.cfg.ReadLimit, 1<<30))}
	conn, err := websocket.Accept(rec, r, &h.opts)
	if err != nil {
		h.log.Debug("websocket: upgrade refused", "user", user, "err", err)
		return // Accept wrote the response
	}
	conn.SetReadLimit(h.cfg.ReadLimit)

	s := &socket{conn: conn, raw: rec.Conn, cork: rec.Cork}
	if err := s.Init(h.ep, s, user, expires, hold); err != nil {
		h.log.Error("websocket: new socket", "err", err)
		_ = conn.Close(websocket.StatusInternalError, "internal error")
		return
	}
	// registered goes first in an empty queue; it is never full here.
	s.Reply(domain.Event{Name: domain.EventRegistered, Data: domain.RegisteredPayload{UserID: user}})
	// registered goes out once the socket is registered and its user's
	// presence recorded: every node's events reach it then.
	if !s.Start() {
		_ = conn.Close(websocket.StatusCode(realtime.CloseShutdown.Code), realtime.CloseShutdown.Reason)
		return
	}
	// The reader gets a goroutine of its own and ServeHTTP returns: the
	// hijacked connection no longer needs the HTTP server's goroutine, whose
	// deep stack, and the request it holds, every garbage collection would
	// otherwise scan for the socket's whole life.
	go s.Serve(s)
}

// authenticate verifies the access token of the request, from the
// Authorization header or the access_token query parameter. A malformed
// token is a missing credential.
func (h *Handler) authenticate(r *http.Request) (domain.UserID, time.Time, error) {
	token, err := wire.BearerToken(r, true)
	if err != nil {
		return "", time.Time{}, err
	}
	return h.ep.Authenticate(r.Context(), token)
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
