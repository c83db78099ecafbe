package app

import (
	"context"

	"github.com/messenger-go/messenger/domain"
)

// History returns a page of a conversation of the caller. target names it by
// conversation id or by the peer's user id.
func (a *App) History(ctx context.Context, caller domain.UserID, target string, page domain.Page) ([]domain.Message, bool, error) {
	conv, err := resolveConversation(caller, target)
	if err != nil {
		return nil, false, err
	}
	if err := participant(conv, caller); err != nil {
		return nil, false, err
	}
	page, err = page.Normalize()
	if err != nil {
		return nil, false, err
	}
	return a.cfg.Messages.History(ctx, conv, page)
}

// resolveConversation reads target as a conversation id, or else as the id of
// the peer of caller.
func resolveConversation(caller domain.UserID, target string) (domain.ConversationID, error) {
	if conv, err := domain.ParseConversationID(target); err == nil {
		return conv, nil
	}
	peer, err := domain.ParseUserID(target)
	if err != nil {
		return "", domain.Errorf(domain.KindInvalid, "not a conversation id or user id")
	}
	return domain.NewConversationID(caller, peer)
}
