package http

import (
	"net/http"

	"github.com/messenger-go/messenger/domain"
)

type friendRequest struct {
	FriendID string `json:"friendId"`
}

type friendshipResponse struct {
	Friendship domain.Friendship `json:"friendship"`
}

type requestsResponse struct {
	Requests []domain.FriendRequest `json:"requests"`
}

type friendsResponse struct {
	Friends []domain.Friend `json:"friends"`
}

type usersResponse struct {
	Users []domain.User `json:"users"`
}

// maxSearchBytes bounds the search query: no name or email is longer.
const maxSearchBytes = domain.MaxEmailBytes

// friendID decodes {friendId} and checks it names another user.
func (h *Handler) friendID(w http.ResponseWriter, r *http.Request, caller domain.UserID) (domain.UserID, error) {
	var req friendRequest
	if err := h.decode(w, r, &req); err != nil {
		return "", err
	}
	id, err := domain.ParseUserID(req.FriendID)
	if err != nil {
		return "", domain.Errorf(domain.KindInvalid, "friendId must be a user id")
	}
	if id == caller {
		return "", domain.Errorf(domain.KindInvalid, "friendId must be another user")
	}
	return id, nil
}

// POST /friends/send-request {friendId} -> 201 {friendship}.
func (h *Handler) sendFriendRequest(w http.ResponseWriter, r *http.Request, caller domain.UserID) error {
	to, err := h.friendID(w, r, caller)
	if err != nil {
		return err
	}
	f, err := h.svc.SendFriendRequest(r.Context(), caller, to)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, friendshipResponse{Friendship: f})
	return nil
}

// POST /friends/accept-request {friendId: the requester} -> 200 {friendship}.
func (h *Handler) acceptFriendRequest(w http.ResponseWriter, r *http.Request, caller domain.UserID) error {
	requester, err := h.friendID(w, r, caller)
	if err != nil {
		return err
	}
	f, err := h.svc.AcceptFriendRequest(r.Context(), caller, requester)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, friendshipResponse{Friendship: f})
	return nil
}

// POST /friends/block {friendId} -> 200 {friendship} with status "blocked".
func (h *Handler) block(w http.ResponseWriter, r *http.Request, caller domain.UserID) error {
	other, err := h.friendID(w, r, caller)
	if err != nil {
		return err
	}
	f, err := h.svc.Block(r.Context(), caller, other)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, friendshipResponse{Friendship: f})
	return nil
}

// POST /friends/unblock {friendId} -> 204.
func (h *Handler) unblock(w http.ResponseWriter, r *http.Request, caller domain.UserID) error {
	other, err := h.friendID(w, r, caller)
	if err != nil {
		return err
	}
	if err := h.svc.Unblock(r.Context(), caller, other); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// GET /friends/pending-requests -> 200 {requests: [{user, createdAt}]}.
func (h *Handler) pendingRequests(w http.ResponseWriter, r *http.Request, caller domain.UserID) error {
	reqs, err := h.svc.PendingRequests(r.Context(), caller)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, requestsResponse{Requests: nonNil(reqs)})
	return nil
}

// GET /friends/list -> 200 {friends: [user with online and lastSeenAt]}.
func (h *Handler) friends(w http.ResponseWriter, r *http.Request, caller domain.UserID) error {
	users, err := h.svc.Friends(r.Context(), caller)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, friendsResponse{Friends: nonNil(users)})
	return nil
}

// GET /friends/search?q= -> 200 {users: [user]}.
func (h *Handler) searchUsers(w http.ResponseWriter, r *http.Request, caller domain.UserID) error {
	q := r.URL.Query().Get("q")
	if err := domain.ValidateString("q", q, maxSearchBytes); err != nil {
		return err
	}
	users, err := h.svc.SearchUsers(r.Context(), caller, q)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, usersResponse{Users: nonNil(users)})
	return nil
}

// nonNil makes empty lists encode as [] rather than null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
