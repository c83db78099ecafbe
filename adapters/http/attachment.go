package http

import (
	"net/http"

	"github.com/messenger-go/messenger/domain"
)

// createAttachment declares an upload: POST /attachments.
func (h *Handler) createAttachment(w http.ResponseWriter, r *http.Request, caller domain.UserID) error {
	var req *domain.AttachmentRequest
	if err := h.decode(w, r, &req); err != nil {
		return err
	}
	if req == nil {
		return domain.Errorf(domain.KindInvalid, "request body must be a JSON object")
	}
	up, err := h.svc.CreateAttachment(r.Context(), caller, *req)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, up)
	return nil
}

// attachment redirects to a short-lived download URL: GET
// /attachments/{attachmentId}. The answer is private to the caller and
// expires with the URL, so nothing caches it.
func (h *Handler) attachment(w http.ResponseWriter, r *http.Request, caller domain.UserID) error {
	id, err := domain.ParseAttachmentID(r.PathValue("attachmentId"))
	if err != nil {
		return err
	}
	url, err := h.svc.AttachmentURL(r.Context(), caller, id)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, url, http.StatusFound)
	return nil
}
