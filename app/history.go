package app

import (
	"context"

	"github.com/messenger-go/messenger/domain"
)

// History returns a page of a conversation of the caller.
func (a *App) History(ctx context.Context, caller domain.UserID, conv domain.ConversationID, page domain.Page) ([]domain.Message, bool, error) {
	if err := participant(conv, caller); err != nil {
		return nil, false, err
	}
	page, err := page.Normalize()
	if err != nil {
		return nil, false, err
	}
	return a.cfg.Messages.History(ctx, conv, page)
}
