package http

import (
	"net/http"

	"github.com/messenger-go/messenger/domain"
)

// POST /friends/decline-request {friendId: the requester} -> 204.
func (h *Handler) declineFriendRequest(w http.ResponseWriter, r *http.Request, caller domain.UserID) error {
	requester, err := h.friendID(w, r, caller)
	if err != nil {
		return err
	}
	if err := h.svc.DeclineFriendRequest(r.Context(), caller, requester); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// POST /friends/cancel-request {friendId: the addressee} -> 204.
func (h *Handler) cancelFriendRequest(w http.ResponseWriter, r *http.Request, caller domain.UserID) error {
	addressee, err := h.friendID(w, r, caller)
	if err != nil {
		return err
	}
	if err := h.svc.CancelFriendRequest(r.Context(), caller, addressee); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// DELETE /friends/{friendId} -> 204; both sides get friendRemoved.
func (h *Handler) unfriend(w http.ResponseWriter, r *http.Request, caller domain.UserID) error {
	other, err := domain.ParseUserID(r.PathValue("friendId"))
	if err != nil {
		return domain.Errorf(domain.KindInvalid, "friendId must be a user id")
	}
	if other == caller {
		return domain.Errorf(domain.KindInvalid, "friendId must be another user")
	}
	if err := h.svc.Unfriend(r.Context(), caller, other); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
