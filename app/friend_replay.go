package app

import (
	"context"
	"time"

	"github.com/messenger-go/messenger/domain"
)

// replayFriendEvents sends user the friend events that came since they were
// last seen (since; nil: never): newFriendRequest for each request to them
// made since, friendRequestAccepted for each of their requests accepted
// since. A friendship ended meanwhile has no row left to tell of: the
// friends list shows it.
func (a *App) replayFriendEvents(ctx context.Context, user domain.UserID, since *time.Time) {
	relations, err := a.cfg.Friends.Relations(ctx, user)
	if err != nil {
		a.logger.WarnContext(ctx, "friend events not replayed", "user", user, "err", err)
		return
	}
	after := func(t time.Time) bool { return since == nil || t.After(*since) }
	for _, f := range relations {
		var name string
		switch {
		case f.Status == domain.FriendPending && f.FriendID == user && after(f.CreatedAt):
			name = domain.EventNewFriendRequest
		case f.Status == domain.FriendAccepted && f.UserID == user && after(f.UpdatedAt):
			name = domain.EventFriendRequestAccepted
		default:
			continue
		}
		other, err := a.cfg.Users.UserByID(ctx, f.Other(user))
		if err != nil {
			continue // deleted meanwhile
		}
		a.notify(ctx, []domain.UserID{user}, domain.Event{Name: name, Data: domain.UserPayload{User: other}})
	}
}
