package http

import (
	"context"
	"errors"
	"net/http"
	"sync"

	"github.com/messenger-go/messenger/ports"
)

type readyResponse struct {
	Status string            `json:"status"`
	Checks map[string]string `json:"checks"`
}

// GET /healthz -> 200 while the process serves.
func (h *Handler) healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// GET /readyz runs every check concurrently, each bounded by the ready
// timeout, and answers 200 when all pass, 503 otherwise; a check that passes
// with a warning (ports.Degraded) is shown as "warning: ...". A failing check
// is reported by its error text: the endpoint is meant for operators and
// orchestrators, so keep it off the public internet if that text is sensitive.
func (h *Handler) readyz(w http.ResponseWriter, r *http.Request) {
	res := readyResponse{Status: "ok", Checks: make(map[string]string, len(h.checks))}
	var (
		mu sync.Mutex
		wg sync.WaitGroup
	)
	for _, c := range h.checks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(r.Context(), h.readyTimeout)
			defer cancel()
			err := runCheck(ctx, c.Check)
			if err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
				err = errors.New("timed out after " + h.readyTimeout.String())
			}
			mu.Lock()
			defer mu.Unlock()
			if degraded, ok := errors.AsType[*ports.Degraded](err); ok {
				res.Checks[c.Name] = "warning: " + degraded.Reason
				return
			}
			if err != nil {
				res.Status = "unavailable"
				res.Checks[c.Name] = err.Error()
				h.log.WarnContext(r.Context(), "http: readiness check failed", "check", c.Name, "err", err)
				return
			}
			res.Checks[c.Name] = "ok"
		}()
	}
	wg.Wait()
	status := http.StatusOK
	if res.Status != "ok" {
		status = http.StatusServiceUnavailable
	}
	writeJSON(w, status, res)
}

// runCheck runs check, turning a panic into an error. Checks must honour
// ctx: the answer waits for the slowest one.
func runCheck(ctx context.Context, check func(context.Context) error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = errors.New("check panicked")
		}
	}()
	return check(ctx)
}
