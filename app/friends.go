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

// maxQueryBytes bounds a search query.
const maxQueryBytes = domain.MaxEmailBytes

// SearchUsers finds users whose first or last name starts with query, or
// whose email is query, as caller may see them (ports.UserStore.SearchUsers).
// Searches are limited per caller: each is a scan an enumeration would repeat.
func (a *App) SearchUsers(ctx context.Context, caller domain.UserID, query string) ([]domain.User, error) {
	query = strings.TrimSpace(query)
	if query == "" {
		return nil, domain.Errorf(domain.KindInvalid, "query is required")
	}
	if err := domain.ValidateString("query", query, maxQueryBytes); err != nil {
		return nil, err
	}
	if err := a.allowOn(ctx, a.cfg.Guards.Search, "search:"+string(caller)); err != nil {
		return nil, err
	}
	return a.cfg.Users.SearchUsers(ctx, query, caller, a.cfg.SearchLimit)
}
