package app

import (
	"context"

	"github.com/messenger-go/messenger/domain"
)

// Block blocks other: no messages, typing or requests either way until by lifts it.
func (a *App) Block(ctx context.Context, by, other domain.UserID) (domain.Friendship, error) {
	if _, err := a.cfg.Users.UserByID(ctx, other); err != nil {
		return domain.Friendship{}, err
	}
	now := a.now().UTC()
	return a.cfg.Friends.UpdateFriendship(ctx, by, other, func(cur domain.Friendship) (domain.Friendship, error) {
		return cur.Block(by, other, now)
	})
}

// Unblock lifts by's block of other; the pair ends with no relation.
func (a *App) Unblock(ctx context.Context, by, other domain.UserID) error {
	now := a.now().UTC()
	_, err := a.cfg.Friends.UpdateFriendship(ctx, by, other, func(cur domain.Friendship) (domain.Friendship, error) {
		return cur.Unblock(by, now)
	})
	return err
}
