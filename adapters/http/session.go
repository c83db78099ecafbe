package http

import (
	"net/http"

	"github.com/messenger-go/messenger/domain"
)

type changePasswordRequest struct {
	CurrentPassword string `json:"currentPassword"`
	NewPassword     string `json:"newPassword"`
}

// POST /auth/change-password {currentPassword, newPassword} -> 204; every
// refresh token of the caller is revoked and every socket closed (4001).
func (h *Handler) changePassword(w http.ResponseWriter, r *http.Request, caller domain.UserID) error {
	var req changePasswordRequest
	if err := h.decode(w, r, &req); err != nil {
		return err
	}
	if req.CurrentPassword == "" || req.NewPassword == "" {
		return domain.Errorf(domain.KindInvalid, "currentPassword and newPassword are required")
	}
	if err := h.svc.ChangePassword(r.Context(), caller, req.CurrentPassword, req.NewPassword); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// POST /auth/logout-all -> 204; the same revocation, without a body.
func (h *Handler) logoutAll(w http.ResponseWriter, r *http.Request, caller domain.UserID) error {
	if err := h.svc.LogoutAll(r.Context(), caller); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
