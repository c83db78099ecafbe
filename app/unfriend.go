package app

import (
	"context"

	"github.com/messenger-go/messenger/domain"
)

// Unfriend ends the friendship of by and other. The change drops the pair
// from every node's friendship cache at once (Config.FriendshipChanges), so
// sends between them are refused from then on; both sides hear
// friendRemoved through the friend-events topic.
func (a *App) Unfriend(ctx context.Context, by, other domain.UserID) error {
	if err := a.endRelation(ctx, by, other, domain.Friendship.Unfriend); err != nil {
		return err
	}
	a.publishFriendEvent(ctx, friendEvent{Type: friendRemoved, FromID: by, ToID: other, At: a.now().UTC()})
	return nil
}
