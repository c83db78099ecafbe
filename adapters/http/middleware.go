package http

import (
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/messenger-go/messenger/domain"
)

// recorder remembers the status a handler wrote, for the request log and so
// that panic recovery knows whether it may still answer.
type recorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
	r.ResponseWriter.WriteHeader(status)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(b)
	r.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer (flush,
// deadlines).
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// instrument wraps next with panic recovery, the request log line and the
// CORS headers of actual (non-preflight) requests.
func (h *Handler) instrument(quiet bool, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &recorder{ResponseWriter: w}
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				h.log.ErrorContext(r.Context(), "http: panic serving request",
					"method", r.Method, "pattern", r.Pattern, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				if rec.status == 0 {
					h.writeError(rec, r, domain.Errorf(domain.KindInternal, "panic"))
				}
			}
			level := slog.LevelInfo
			if quiet {
				level = slog.LevelDebug
			}
			h.log.LogAttrs(r.Context(), level, "http request",
				slog.String("method", r.Method),
				slog.String("pattern", r.Pattern),
				slog.Int("status", rec.status),
				slog.Int64("bytes", rec.bytes),
				slog.Duration("duration", time.Since(start)))
		}()
		h.corsHeaders(rec.Header(), r)
		next.ServeHTTP(rec, r)
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
	})
}

// originAllowed reports whether browsers at origin may call the API.
func (h *Handler) originAllowed(origin string) bool {
	return origin != "" && (h.anyOrigin || h.origins[strings.ToLower(origin)])
}

// corsHeaders adds the CORS answer headers for an allowed Origin. No
// credentials mode: the API authenticates with bearer tokens, not cookies.
func (h *Handler) corsHeaders(hdr http.Header, r *http.Request) {
	if !h.anyOrigin && len(h.origins) == 0 {
		return
	}
	if !h.anyOrigin {
		hdr.Add("Vary", "Origin")
	}
	origin := r.Header.Get("Origin")
	if !h.originAllowed(origin) {
		return
	}
	if h.anyOrigin {
		hdr.Set("Access-Control-Allow-Origin", "*")
	} else {
		hdr.Set("Access-Control-Allow-Origin", origin)
	}
	hdr.Set("Access-Control-Expose-Headers", "Retry-After")
}

// allowedRequestHeaders are the headers a cross-origin request may send.
var allowedRequestHeaders = []string{"authorization", "content-type"}

// otherMethods answers the requests to a known path whose method has no
// route: CORS preflights and OPTIONS get 204, the rest 405, each with the
// methods the path supports.
func (h *Handler) otherMethods(methods []string) http.Handler {
	allow := strings.Join(methods, ", ")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hdr := w.Header()
		hdr.Set("Allow", allow)
		if r.Method != http.MethodOptions {
			writeJSON(w, http.StatusMethodNotAllowed, errorBody{Error: domain.ErrorPayload{
				Code: "method_not_allowed", Message: "method " + r.Method + " not allowed; allowed: " + allow}})
			return
		}
		reqMethod := r.Header.Get("Access-Control-Request-Method")
		origin := r.Header.Get("Origin")
		if origin == "" || reqMethod == "" {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		// A preflight.
		hdr.Add("Vary", "Access-Control-Request-Method")
		hdr.Add("Vary", "Access-Control-Request-Headers")
		if !h.originAllowed(origin) {
			h.writeError(w, r, domain.Errorf(domain.KindForbidden, "origin not allowed"))
			return
		}
		if !slices.Contains(methods, reqMethod) {
			h.writeError(w, r, domain.Errorf(domain.KindForbidden, "method %s not allowed", reqMethod))
			return
		}
		for _, name := range strings.Split(r.Header.Get("Access-Control-Request-Headers"), ",") {
			name = strings.ToLower(strings.TrimSpace(name))
			if name != "" && !slices.Contains(allowedRequestHeaders, name) {
				h.writeError(w, r, domain.Errorf(domain.KindForbidden, "header %s not allowed", name))
				return
			}
		}
		hdr.Set("Access-Control-Allow-Methods", allow)
		hdr.Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
		hdr.Set("Access-Control-Max-Age", "600")
		w.WriteHeader(http.StatusNoContent)
	})
}
