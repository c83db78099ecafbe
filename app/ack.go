package app

import (
	"context"

	"github.com/messenger-go/messenger/domain"
)

// Ack records that the caller's device received conv up to upTo, and tells the
// peer (messageDelivered) when the delivered watermark moved.
func (a *App) Ack(ctx context.Context, caller domain.UserID, conv domain.ConversationID, upTo domain.Sequence) (domain.Watermark, error) {
	if err := participant(conv, caller); err != nil {
		return domain.Watermark{}, err
	}
	if upTo < 1 {
		return domain.Watermark{}, domain.Errorf(domain.KindInvalid, "upToSequenceId must be at least 1")
	}
	mark, advanced, err := a.cfg.Receipts.MarkDelivered(ctx, conv, caller, upTo, a.now().UTC())
	if err != nil {
		return domain.Watermark{}, err
	}
	w := domain.Watermark{ConversationID: conv, UpTo: mark}
	if advanced {
		peer, _ := conv.Peer(caller)
		a.notify(ctx, []domain.UserID{peer}, domain.Event{Name: domain.EventMessageDelivered, Data: w})
	}
	return w, nil
}

// JoinChat checks that the caller may follow conv.
func (a *App) JoinChat(ctx context.Context, caller domain.UserID, conv domain.ConversationID) error {
	return participant(conv, caller)
}
