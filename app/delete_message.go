package app

import (
	"context"

	"github.com/messenger-go/messenger/domain"
)

// DeleteMessage deletes a message the caller sent, for everyone, through
// chat-messages as EditMessage does. A sender may delete whatever became of
// the friendship: taking back one's own words needs no one's leave. A
// message deleted already is not published again.
func (a *App) DeleteMessage(ctx context.Context, caller domain.UserID, id domain.MessageID) error {
	m, err := a.ownMessage(ctx, caller, id)
	if err != nil {
		return err
	}
	c, err := domain.NewDeletion(m, caller, a.now())
	if err != nil {
		return err
	}
	if m.DeletedAt != nil {
		return nil
	}
	if err := a.publishChange(ctx, c); err != nil {
		return err
	}
	a.releaseAttachments(ctx, m.ID, "")
	return nil
}
