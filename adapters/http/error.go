package http

import (
	"net/http"

	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/wire"
)

// errorBody is the wire form of an error the API writes itself, such as 405.
type errorBody struct {
	Error domain.ErrorPayload `json:"error"`
}

// writeError answers err as wire.WriteHTTPError does, with the status of its
// kind and a client-safe message. Internal errors are logged with their
// cause; clients see a generic text.
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	switch status := wire.Status(domain.KindOf(err)); {
	case status == http.StatusServiceUnavailable:
		h.log.WarnContext(r.Context(), "http: dependency unavailable", "method", r.Method, "pattern", r.Pattern, "err", err)
	case status >= 500:
		h.log.ErrorContext(r.Context(), "http: request failed", "method", r.Method, "pattern", r.Pattern, "err", err)
	}
	wire.WriteHTTPError(w, err)
}
