package realtime

import (
	"context"

	"github.com/messenger-go/messenger/domain"
)

// tell tells HubConfig.Watcher that u's sockets on this node are now online
// (the first one opened) or gone (the last one closed), when that differs
// from what it was told last. The caller holds u's presence lock, so the
// calls for one user are made in the order its sockets came and went.
func (h *Hub) tell(ctx context.Context, u domain.UserID, online bool) {
	w := h.cfg.Watcher
	if w == nil {
		return
	}
	h.toldMu.Lock()
	if h.told == nil {
		h.told = make(map[domain.UserID]bool)
	}
	changed := h.told[u] != online
	if online {
		h.told[u] = true
	} else {
		delete(h.told, u)
	}
	h.toldMu.Unlock()
	if !changed {
		return
	}
	if online {
		w.UserConnected(ctx, u)
	} else {
		w.UserDisconnected(ctx, u)
	}
}
