package http

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/messenger-go/messenger/domain"
)

type sendRequest struct {
	ReceiverID      string          `json:"receiverId"`
	Message         string          `json:"message"`
	MessageType     string          `json:"messageType"`
	Metadata        json.RawMessage `json:"metadata"`
	ClientMessageID string          `json:"clientMessageId"`
}

type historyResponse struct {
	Messages []domain.Message `json:"messages"`
	HasMore  bool             `json:"hasMore"`
}

type markReadRequest struct {
	ConversationID string          `json:"conversationId"`
	UpTo           domain.Sequence `json:"upToSequenceId"`
}

type conversationsResponse struct {
	Conversations []domain.ConversationSummary `json:"conversations"`
}

// POST /messages/send {receiverId, message, messageType?, metadata?,
// clientMessageId?} -> 202 {messageId, clientMessageId, conversationId,
// status: "queued"}. Only the shape of the request is checked here; the use
// case validates the message and stamps its time.
func (h *Handler) sendMessage(w http.ResponseWriter, r *http.Request, caller domain.UserID) error {
	var req *sendRequest
	if err := h.decode(w, r, &req); err != nil {
		return err
	}
	if req == nil {
		return domain.Errorf(domain.KindInvalid, "request body must be a JSON object")
	}
	receipt, err := h.svc.SendMessage(r.Context(), domain.Draft{
		SenderID:        caller,
		ReceiverID:      domain.UserID(req.ReceiverID),
		Text:            req.Message,
		Type:            req.MessageType,
		Metadata:        req.Metadata,
		ClientMessageID: req.ClientMessageID,
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, receipt)
	return nil
}

// GET /messages/history/{id}?before=&after=&limit= -> 200 {messages, hasMore},
// where id is the conversation id or the peer's user id.
func (h *Handler) history(w http.ResponseWriter, r *http.Request, caller domain.UserID) error {
	target, err := historyTarget(r.PathValue("id"))
	if err != nil {
		return err
	}
	q := r.URL.Query()
	var page domain.Page
	before, err := queryInt(q.Get("before"), "before")
	if err != nil {
		return err
	}
	after, err := queryInt(q.Get("after"), "after")
	if err != nil {
		return err
	}
	limit, err := queryInt(q.Get("limit"), "limit")
	if err != nil {
		return err
	}
	if limit == 0 && q.Get("limit") != "" {
		return domain.Errorf(domain.KindInvalid, "limit must be between 1 and %d", domain.MaxPageLimit)
	}
	page.Before, page.After = domain.Sequence(before), domain.Sequence(after)
	page.Limit = int(min(limit, domain.MaxPageLimit+1))
	if page, err = page.Normalize(); err != nil {
		return err
	}
	msgs, hasMore, err := h.svc.History(r.Context(), caller, target, page)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, historyResponse{Messages: nonNil(msgs), HasMore: hasMore})
	return nil
}

// historyTarget accepts a conversation id or a user id, in canonical form.
func historyTarget(id string) (string, error) {
	if conv, err := domain.ParseConversationID(id); err == nil {
		return string(conv), nil
	}
	if user, err := domain.ParseUserID(id); err == nil {
		return string(user), nil
	}
	return "", domain.Errorf(domain.KindInvalid, "history id must be a conversation id or a user id")
}

// queryInt parses an optional integer query parameter; absent is zero.
func queryInt(v, name string) (int64, error) {
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, domain.Errorf(domain.KindInvalid, "%s must be an integer", name)
	}
	if n < 0 {
		return 0, domain.Errorf(domain.KindInvalid, "%s must not be negative", name)
	}
	return n, nil
}

// POST /messages/mark-read {conversationId, upToSequenceId} -> 202
// {conversationId, upToSequenceId}.
func (h *Handler) markRead(w http.ResponseWriter, r *http.Request, caller domain.UserID) error {
	var req markReadRequest
	if err := h.decode(w, r, &req); err != nil {
		return err
	}
	conv, err := domain.ParseConversationID(req.ConversationID)
	if err != nil {
		return domain.Errorf(domain.KindInvalid, "conversationId must be a conversation id")
	}
	if req.UpTo < 1 {
		return domain.Errorf(domain.KindInvalid, "upToSequenceId must be a positive sequence")
	}
	wm, err := h.svc.MarkRead(r.Context(), caller, conv, req.UpTo)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, wm)
	return nil
}

// GET /messages/unread-count -> 200 {unreadCount, byConversation}.
func (h *Handler) unreadCount(w http.ResponseWriter, r *http.Request, caller domain.UserID) error {
	counts, err := h.svc.UnreadCount(r.Context(), caller)
	if err != nil {
		return err
	}
	if counts.ByConversation == nil {
		counts.ByConversation = map[domain.ConversationID]int64{}
	}
	writeJSON(w, http.StatusOK, counts)
	return nil
}

// GET /messages/conversations -> 200 {conversations: [{conversationId, peer,
// lastMessage, unreadCount}]}, newest first.
func (h *Handler) conversations(w http.ResponseWriter, r *http.Request, caller domain.UserID) error {
	convs, err := h.svc.Conversations(r.Context(), caller)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, conversationsResponse{Conversations: nonNil(convs)})
	return nil
}
