package http

import (
	"encoding/json"
	"net/http"

	"github.com/messenger-go/messenger/domain"
)

type editRequest struct {
	Message  *string         `json:"message"`
	Metadata json.RawMessage `json:"metadata"` // absent: kept; null: removed
}

type messageResponse struct {
	Message domain.Message `json:"message"`
}

// messageID reads the {messageId} of the path.
func messageID(r *http.Request) (domain.MessageID, error) {
	id, err := domain.ParseMessageID(r.PathValue("messageId"))
	if err != nil {
		return "", domain.Errorf(domain.KindInvalid, "messageId must be a message id")
	}
	return id, nil
}

// PATCH /messages/{messageId} {message, metadata?} -> 200 {message}, the
// message as the edit makes it; messageEdited follows on both sides' sockets.
func (h *Handler) editMessage(w http.ResponseWriter, r *http.Request, caller domain.UserID) error {
	id, err := messageID(r)
	if err != nil {
		return err
	}
	var req *editRequest
	if err := h.decode(w, r, &req); err != nil {
		return err
	}
	if req == nil || req.Message == nil {
		return domain.Errorf(domain.KindInvalid, "message is required")
	}
	m, err := h.svc.EditMessage(r.Context(), caller, id, domain.Edit{
		Text: *req.Message, Metadata: req.Metadata, SetMetadata: req.Metadata != nil,
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, messageResponse{Message: m})
	return nil
}

// DELETE /messages/{messageId} -> 204; messageDeleted follows on both sides'
// sockets, and history keeps the sequence as a tombstone.
func (h *Handler) deleteMessage(w http.ResponseWriter, r *http.Request, caller domain.UserID) error {
	id, err := messageID(r)
	if err != nil {
		return err
	}
	if err := h.svc.DeleteMessage(r.Context(), caller, id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
