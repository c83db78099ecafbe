package app

import (
	"context"

	"github.com/messenger-go/messenger/domain"
)

// changedLimit bounds the changed messages a resume replays per
// conversation.
const changedLimit = 5 * domain.MaxPageLimit

// ChangedMessages returns what changed in conv at or below upTo after upTo
// was stored, for a device resuming from upTo.
func (a *App) ChangedMessages(ctx context.Context, caller domain.UserID, conv domain.ConversationID, upTo domain.Sequence) ([]domain.Message, error) {
	if err := participant(conv, caller); err != nil {
		return nil, err
	}
	if upTo < 1 {
		return nil, nil
	}
	return a.cfg.Messages.ChangedSince(ctx, conv, upTo, changedLimit)
}
