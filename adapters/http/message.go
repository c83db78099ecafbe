package http

import (
	"encoding/json"
	"net/http"
	"net/url"
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
// where id is the conversation id or the peer's user id. A cursor means what
// it says: after=0 is the oldest page; with no cursor the newest comes back.
func (h *Handler) history(w http.ResponseWriter, r *http.Request, caller domain.UserID) error {
	conv, err := historyConversation(caller, r.PathValue("id"))
	if err != nil {
		return err
	}
	page, err := historyPage(r.URL.Query())
	if err != nil {
		return err
	}
	msgs, hasMore, err := h.svc.History(r.Context(), caller, conv, page)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, historyResponse{Messages: nonNil(msgs), HasMore: hasMore})
	return nil
}

// historyConversation reads id as a conversation id, or else as the user id
// of the caller's peer.
func historyConversation(caller domain.UserID, id string) (domain.ConversationID, error) {
	if conv, err := domain.ParseConversationID(id); err == nil {
		return conv, nil
	}
	peer, err := domain.ParseUserID(id)
	if err != nil {
		return "", domain.Errorf(domain.KindInvalid, "history id must be a conversation id or a user id")
	}
	return domain.NewConversationID(caller, peer)
}

// historyPage reads the cursors and the limit. A parameter with a value
// counts, after=0 included (an empty one is absent); before=0 selects nothing
// and is refused.
func historyPage(q url.Values) (domain.Page, error) {
	var page domain.Page
	if q.Get("before") != "" {
		before, err := queryInt(q.Get("before"), "before")
		if err != nil {
			return page, err
		}
		if before == 0 {
			return page, domain.Errorf(domain.KindInvalid, "before must be a positive sequence")
		}
		page.Before = domain.Sequence(before)
	}
	if q.Get("after") != "" {
		after, err := queryInt(q.Get("after"), "after")
		if err != nil {
			return page, err
		}
		page.After, page.HasAfter = domain.Sequence(after), true
	}
	if q.Get("limit") != "" {
		limit, err := queryInt(q.Get("limit"), "limit")
		if err != nil {
			return page, err
		}
		if limit == 0 {
			return page, domain.Errorf(domain.KindInvalid, "limit must be between 1 and %d", domain.MaxPageLimit)
		}
		page.Limit = int(min(limit, domain.MaxPageLimit+1))
	}
	return page.Normalize()
}

// queryInt parses a non-negative integer query parameter.
func queryInt(v, name string) (int64, error) {
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
