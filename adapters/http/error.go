package http

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/messenger-go/messenger/domain"
)

// statusOf is the one table from error kind to HTTP status.
var statusOf = map[domain.Kind]int{
	domain.KindInvalid:         http.StatusBadRequest,
	domain.KindUnauthenticated: http.StatusUnauthorized,
	domain.KindForbidden:       http.StatusForbidden,
	domain.KindNotFound:        http.StatusNotFound,
	domain.KindConflict:        http.StatusConflict,
	domain.KindTooLarge:        http.StatusRequestEntityTooLarge,
	domain.KindRateLimited:     http.StatusTooManyRequests,
	domain.KindUnavailable:     http.StatusServiceUnavailable,
	domain.KindInternal:        http.StatusInternalServerError,
}

// StatusOf returns the HTTP status that answers an error of kind k.
func StatusOf(k domain.Kind) int {
	if s, ok := statusOf[k]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// retryAfterer is implemented by rate-limit errors that know when the budget
// refills.
type retryAfterer interface {
	RetryAfter() time.Duration
}

// defaultRetryAfter is announced with a 429 or 503 whose error does not say.
const defaultRetryAfter = time.Second

// errorBody is the wire form of every error.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// writeError answers err with its kind's status and a client-safe message.
// Internal errors are logged with their cause; clients see a generic text.
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	kind := domain.KindOf(err)
	status := StatusOf(kind)
	msg := domain.MessageOf(err)
	switch {
	case status >= 500 && kind != domain.KindUnavailable:
		kind, msg = domain.KindInternal, "internal error"
		h.log.ErrorContext(r.Context(), "http: request failed", "method", r.Method, "pattern", r.Pattern, "err", err)
	case kind == domain.KindUnavailable:
		h.log.WarnContext(r.Context(), "http: dependency unavailable", "method", r.Method, "pattern", r.Pattern, "err", err)
	}
	switch status {
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		wait := defaultRetryAfter
		var ra retryAfterer
		if errors.As(err, &ra) && ra.RetryAfter() > 0 {
			wait = ra.RetryAfter()
		}
		w.Header().Set("Retry-After", strconv.FormatInt(int64((wait+time.Second-1)/time.Second), 10))
	case http.StatusUnauthorized:
		w.Header().Set("WWW-Authenticate", `Bearer`)
	}
	writeJSON(w, status, errorBody{Error: errorDetail{Code: kind.String(), Message: msg}})
}
