package realtime

import (
	"encoding/json"

	"github.com/messenger-go/messenger/domain"
)

// reasonRevoked is the close reason of sockets whose credentials were
// revoked, when the event names none.
const reasonRevoked = "credentials revoked: log in again"

// closeSessions closes every local socket of users with 4001 (the code of
// KindUnauthenticated): their credentials were revoked. ev is the
// domain.SignalCloseSessions event, whose data (a domain.SessionsClosed, or
// its JSON when it crossed nodes) gives the reason.
func (h *Hub) closeSessions(users []domain.UserID, ev domain.Event) {
	reason := reasonRevoked
	switch d := ev.Data.(type) {
	case domain.SessionsClosed:
		reason = d.Reason
	case json.RawMessage:
		var sc domain.SessionsClosed
		if json.Unmarshal(d, &sc) == nil {
			reason = sc.Reason
		}
	}
	if reason == "" || len(reason) > 120 { // a close frame's reason is at most 123 bytes
		reason = reasonRevoked
	}
	h.mu.RLock()
	var all []*Socket
	for _, u := range users {
		for s := range h.users[u] {
			all = append(all, s)
		}
	}
	h.mu.RUnlock()
	for _, s := range all {
		s.Close(Close{Code: CloseExpired.Code, Reason: reason})
	}
}
