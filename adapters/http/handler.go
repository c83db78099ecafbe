package http

import (
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
	"github.com/messenger-go/messenger/wire"
)

// Defaults of Config.
const (
	DefaultMaxBodyBytes = 64 << 10
	DefaultReadyTimeout = 2 * time.Second
)

// Config configures a Handler.
type Config struct {
	// Service runs the use cases. Required.
	Service ports.Service
	// Keys publishes the token keys at GET /.well-known/jwks.json. Optional:
	// without it the route is not registered.
	Keys ports.KeySet
	// Checks are the dependencies GET /readyz reports on. None means ready.
	Checks []ports.HealthCheck
	// Metrics serves GET /metrics (for example promhttp.Handler()). Optional:
	// without it the route is not registered.
	Metrics http.Handler
	// Logger receives one line per request and the causes of internal
	// errors. Nil discards.
	Logger *slog.Logger
	// MaxBodyBytes bounds request bodies; larger ones are answered 413.
	// Default DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// ReadyTimeout bounds each readiness check. Default DefaultReadyTimeout.
	ReadyTimeout time.Duration
	// AllowedOrigins are the exact origins (scheme://host[:port]) browsers may
	// call the API from; "*" allows any origin. Empty means no cross-origin
	// access (same-origin and non-browser clients are unaffected).
	AllowedOrigins []string
	// TrustedProxies are the reverse proxies in front of the server, as CIDRs
	// or single addresses. A request from one of them is counted (login and
	// registration limits) against the right-most address of its
	// X-Forwarded-For that is not itself a trusted proxy; any other request
	// against its peer address. Empty: X-Forwarded-For is ignored.
	TrustedProxies []string
}

// Handler serves the REST API. It is an http.Handler; Routes mounts the same
// routes on another mux.
type Handler struct {
	svc          ports.Service
	keys         ports.KeySet
	checks       []ports.HealthCheck
	metrics      http.Handler
	log          *slog.Logger
	maxBody      int64
	readyTimeout time.Duration
	anyOrigin    bool
	origins      map[string]bool
	proxies      []netip.Prefix
	mux          *http.ServeMux
}

// NewHandler validates cfg, fills its defaults and returns the API handler.
func NewHandler(cfg Config) (*Handler, error) {
	if cfg.Service == nil {
		return nil, domain.Errorf(domain.KindInvalid, "http: Config.Service is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.ReadyTimeout <= 0 {
		cfg.ReadyTimeout = DefaultReadyTimeout
	}
	for _, c := range cfg.Checks {
		if c.Name == "" || c.Check == nil {
			return nil, domain.Errorf(domain.KindInvalid, "http: every health check needs a name and a function")
		}
	}
	h := &Handler{
		svc:          cfg.Service,
		keys:         cfg.Keys,
		checks:       slices.Clone(cfg.Checks),
		metrics:      cfg.Metrics,
		log:          cfg.Logger,
		maxBody:      cfg.MaxBodyBytes,
		readyTimeout: cfg.ReadyTimeout,
		origins:      map[string]bool{},
	}
	for _, o := range cfg.AllowedOrigins {
		switch {
		case o == "*":
			h.anyOrigin = true
		case o == "" || strings.HasSuffix(o, "/") || !strings.Contains(o, "://"):
			return nil, domain.Errorf(domain.KindInvalid, "http: allowed origin %q must look like https://host[:port]", o)
		default:
			h.origins[strings.ToLower(o)] = true
		}
	}
	proxies, err := parseProxies(cfg.TrustedProxies)
	if err != nil {
		return nil, err
	}
	h.proxies = proxies
	h.mux = http.NewServeMux()
	h.Routes(h.mux)
	h.mux.Handle("/", h.instrument(false, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.writeError(w, r, domain.Errorf(domain.KindNotFound, "no such endpoint"))
	})))
	return h, nil
}

// ServeHTTP serves the API; unknown paths get a JSON 404.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// route is one endpoint of the API.
type route struct {
	method, path string
	handler      http.Handler
	quiet        bool // probes and scrapes: logged at debug level
}

func (h *Handler) routes() []route {
	rs := []route{
		{method: http.MethodPost, path: "/auth/register", handler: h.public(h.register)},
		{method: http.MethodPost, path: "/auth/login", handler: h.public(h.login)},
		{method: http.MethodPost, path: "/auth/refresh", handler: h.public(h.refresh)},
		{method: http.MethodPost, path: "/auth/logout", handler: h.public(h.logout)},
		{method: http.MethodPost, path: "/auth/change-password", handler: h.private(h.changePassword)},
		{method: http.MethodPost, path: "/auth/logout-all", handler: h.private(h.logoutAll)},

		{method: http.MethodGet, path: "/users/me", handler: h.private(h.me)},
		{method: http.MethodPatch, path: "/users/me", handler: h.private(h.updateMe)},
		{method: http.MethodDelete, path: "/users/me", handler: h.private(h.deleteMe)},
		{method: http.MethodGet, path: "/users/me/export", handler: h.private(h.exportMe)},

		{method: http.MethodPost, path: "/friends/send-request", handler: h.private(h.sendFriendRequest)},
		{method: http.MethodPost, path: "/friends/accept-request", handler: h.private(h.acceptFriendRequest)},
		{method: http.MethodPost, path: "/friends/decline-request", handler: h.private(h.declineFriendRequest)},
		{method: http.MethodPost, path: "/friends/cancel-request", handler: h.private(h.cancelFriendRequest)},
		{method: http.MethodDelete, path: "/friends/{friendId}", handler: h.private(h.unfriend)},
		{method: http.MethodPost, path: "/friends/block", handler: h.private(h.block)},
		{method: http.MethodPost, path: "/friends/unblock", handler: h.private(h.unblock)},
		{method: http.MethodGet, path: "/friends/pending-requests", handler: h.private(h.pendingRequests)},
		{method: http.MethodGet, path: "/friends/list", handler: h.private(h.friends)},
		{method: http.MethodGet, path: "/friends/search", handler: h.private(h.searchUsers)},

		{method: http.MethodPost, path: "/messages/send", handler: h.private(h.sendMessage)},
		{method: http.MethodGet, path: "/messages/history/{id}", handler: h.private(h.history)},
		{method: http.MethodPost, path: "/messages/mark-read", handler: h.private(h.markRead)},
		{method: http.MethodGet, path: "/messages/unread-count", handler: h.private(h.unreadCount)},
		{method: http.MethodGet, path: "/messages/conversations", handler: h.private(h.conversations)},
		{method: http.MethodPatch, path: "/messages/{messageId}", handler: h.private(h.editMessage)},
		{method: http.MethodDelete, path: "/messages/{messageId}", handler: h.private(h.deleteMessage)},

		{method: http.MethodPost, path: "/attachments", handler: h.private(h.createAttachment)},
		{method: http.MethodGet, path: "/attachments/{attachmentId}", handler: h.private(h.attachment)},
		{method: http.MethodPost, path: "/devices", handler: h.private(h.registerDevice)},
		{method: http.MethodDelete, path: "/devices/{deviceId}", handler: h.private(h.removeDevice)},

		{method: http.MethodGet, path: "/healthz", handler: http.HandlerFunc(h.healthz), quiet: true},
		{method: http.MethodGet, path: "/readyz", handler: http.HandlerFunc(h.readyz), quiet: true},
	}
	if h.keys != nil {
		rs = append(rs, route{method: http.MethodGet, path: "/.well-known/jwks.json", handler: http.HandlerFunc(h.jwks)})
	}
	if h.metrics != nil {
		rs = append(rs, route{method: http.MethodGet, path: "/metrics", handler: h.metrics, quiet: true})
	}
	return rs
}

// Routes registers every endpoint on mux, one pattern per path without a
// method: the path's handler picks the route by method (HEAD is served as
// GET), answers CORS preflights and OPTIONS, and 405 with an Allow header for
// other methods. Method-less patterns keep a literal path (/friends/list)
// and a wildcard one with another method (DELETE /friends/{friendId}) from
// conflicting in the mux. Each route carries the handler's middleware (panic
// recovery, request log, CORS).
func (h *Handler) Routes(mux *http.ServeMux) {
	byPath := map[string]map[string]http.Handler{}
	allowed := map[string][]string{}
	var paths []string
	for _, rt := range h.routes() {
		if _, ok := byPath[rt.path]; !ok {
			paths = append(paths, rt.path)
			byPath[rt.path] = map[string]http.Handler{}
		}
		byPath[rt.path][rt.method] = h.instrument(rt.quiet, rt.handler)
		allowed[rt.path] = append(allowed[rt.path], rt.method)
	}
	for _, p := range paths {
		methods := slices.Clone(allowed[p])
		if slices.Contains(methods, http.MethodGet) {
			methods = append(methods, http.MethodHead)
		}
		handlers := byPath[p]
		other := h.instrument(false, h.otherMethods(append(methods, http.MethodOptions)))
		mux.Handle(p, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			method := r.Method
			if method == http.MethodHead {
				method = http.MethodGet
			}
			if handler, ok := handlers[method]; ok {
				r.Pattern = method + " " + p // what the log names the route by
				handler.ServeHTTP(w, r)
				return
			}
			other.ServeHTTP(w, r)
		}))
	}
}

// public adapts an endpoint that needs no credentials.
func (h *Handler) public(fn func(http.ResponseWriter, *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := fn(w, r); err != nil {
			h.writeError(w, r, err)
		}
	})
}

// private adapts an endpoint that needs a valid access token in
// "Authorization: Bearer <token>".
func (h *Handler) private(fn func(http.ResponseWriter, *http.Request, domain.UserID) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, err := h.authenticate(r)
		if err == nil {
			err = fn(w, r, user)
		}
		if err != nil {
			h.writeError(w, r, err)
		}
	})
}

// authenticate verifies the bearer token of the Authorization header; the
// REST API takes no token in the query, where logs and caches would keep it.
func (h *Handler) authenticate(r *http.Request) (domain.UserID, error) {
	token, err := wire.BearerToken(r, false)
	if err != nil {
		return "", err
	}
	user, _, err := h.svc.Authenticate(r.Context(), token)
	if err != nil {
		return "", err
	}
	return user, nil
}
