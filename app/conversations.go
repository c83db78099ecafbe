package app

import (
	"context"

	"github.com/messenger-go/messenger/domain"
)

// Conversations lists the caller's conversations, newest first.
func (a *App) Conversations(ctx context.Context, caller domain.UserID) ([]domain.ConversationSummary, error) {
	return a.cfg.Inbox.Conversations(ctx, caller, a.cfg.ConversationsLimit)
}
