package websocket

import "time"

// SetClock makes h read token expiries, ping due times and write durations
// against now. Call it before h serves a socket.
func SetClock(h *Handler, now func() time.Time) { h.ep.SetClock(now) }
