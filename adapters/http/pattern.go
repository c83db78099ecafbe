package http

// Patterns returns the "METHOD /path" pattern of every endpoint the handler
// serves, in registration order, so that a host can check them against the
// API's description.
func (h *Handler) Patterns() []string {
	rs := h.routes()
	out := make([]string, len(rs))
	for i, rt := range rs {
		out[i] = rt.method + " " + rt.path
	}
	return out
}
