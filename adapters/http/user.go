package http

import (
	"net/http"

	"github.com/messenger-go/messenger/domain"
)

type userResponse struct {
	User domain.User `json:"user"`
}

type profileRequest struct {
	FirstName *string `json:"firstName"`
	LastName  *string `json:"lastName"`
}

type passwordRequest struct {
	Password string `json:"password"`
}

// GET /users/me -> 200 {user}.
func (h *Handler) me(w http.ResponseWriter, r *http.Request, caller domain.UserID) error {
	u, err := h.svc.Me(r.Context(), caller)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, userResponse{User: u})
	return nil
}

// PATCH /users/me {firstName?, lastName?} -> 200 {user}.
func (h *Handler) updateMe(w http.ResponseWriter, r *http.Request, caller domain.UserID) error {
	var req *profileRequest
	if err := h.decode(w, r, &req); err != nil {
		return err
	}
	if req == nil {
		return domain.Errorf(domain.KindInvalid, "request body must be a JSON object")
	}
	u, err := h.svc.UpdateMe(r.Context(), caller, domain.ProfileUpdate{FirstName: req.FirstName, LastName: req.LastName})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, userResponse{User: u})
	return nil
}

// DELETE /users/me {password} -> 204; the account is erased.
func (h *Handler) deleteMe(w http.ResponseWriter, r *http.Request, caller domain.UserID) error {
	var req passwordRequest
	if err := h.decode(w, r, &req); err != nil {
		return err
	}
	if req.Password == "" {
		return domain.Errorf(domain.KindInvalid, "password is required")
	}
	if err := h.svc.DeleteAccount(r.Context(), caller, req.Password); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// GET /users/me/export -> 200 {exportedAt, user, friendships, messages}, as
// a file to save.
func (h *Handler) exportMe(w http.ResponseWriter, r *http.Request, caller domain.UserID) error {
	export, err := h.svc.ExportAccount(r.Context(), caller)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Disposition", `attachment; filename="messenger-export.json"`)
	writeJSON(w, http.StatusOK, export)
	return nil
}
