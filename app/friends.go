package app

import (
	"context"
	"strings"

	"github.com/messenger-go/messenger/domain"
)

// PendingRequests lists the requests addressed to user.
func (a *App) PendingRequests(ctx context.Context, user domain.UserID) ([]domain.FriendRequest, error) {
	return a.cfg.Friends.PendingRequests(ctx, user)
}

// Friends lists user's friends.
func (a *App) Friends(ctx context.Context, user domain.UserID) ([]domain.User, error) {
	return a.cfg.Friends.Friends(ctx, user)
}

// maxQueryBytes bounds a search query.
const maxQueryBytes = 100

// SearchUsers finds users whose name or email starts with query.
func (a *App) SearchUsers(ctx context.Context, caller domain.UserID, query string) ([]domain.User, error) {
	query = strings.TrimSpace(query)
	if query == "" {
		return nil, domain.Errorf(domain.KindInvalid, "query is required")
	}
	if err := domain.ValidateString("query", query, maxQueryBytes); err != nil {
		return nil, err
	}
	return a.cfg.Users.SearchUsers(ctx, query, caller, a.cfg.SearchLimit)
}
