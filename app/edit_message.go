package app

import (
	"context"
	"encoding/json"

	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
)

// EditMessage checks the edit against the stored message (domain.NewEdit:
// the sender's own text message, not deleted, new content by the rules of a
// send), that the sender may still write to the receiver, and the send
// limit; then appends it to chat-messages under the conversation's key, so
// the delivery consumer applies it after the message and after every change
// before it. It answers once the log accepted the record, with the message as
// the edit makes it of what the store held; the consumer's messageEdited
// carries the state it stored, which differs only when another change of
// the message came in between (the last in log order wins).
func (a *App) EditMessage(ctx context.Context, caller domain.UserID, id domain.MessageID, e domain.Edit) (domain.Message, error) {
	m, err := a.ownMessage(ctx, caller, id)
	if err != nil {
		return domain.Message{}, err
	}
	c, err := domain.NewEdit(m, caller, e, a.now())
	if err != nil {
		return domain.Message{}, err
	}
	if err := a.allow(ctx, "send:"+string(caller)); err != nil {
		return domain.Message{}, err
	}
	if err := a.canMessage(ctx, m.SenderID, m.ReceiverID); err != nil {
		return domain.Message{}, err
	}
	edited, _, err := m.Apply(c)
	if err != nil {
		return domain.Message{}, err
	}
	if err := a.publishChange(ctx, c); err != nil {
		return domain.Message{}, err
	}
	return edited, nil
}

// ownMessage reads the message id names, for a change by caller. A message
// of a conversation the caller is not in is not found: its existence is not
// theirs to learn. Errors: KindNotFound.
func (a *App) ownMessage(ctx context.Context, caller domain.UserID, id domain.MessageID) (domain.Message, error) {
	m, err := a.cfg.Messages.MessageByID(ctx, id)
	if kind := domain.KindOf(err); kind == domain.KindNotFound || kind == domain.KindInvalid {
		return domain.Message{}, errNoSuchMessage
	}
	if err != nil {
		return domain.Message{}, err
	}
	if !m.ConversationID.Has(caller) {
		return domain.Message{}, errNoSuchMessage
	}
	return m, nil
}

var errNoSuchMessage = domain.Errorf(domain.KindNotFound, "message not found")

// publishChange appends c to chat-messages keyed by its conversation, and
// returns once the log accepted it.
func (a *App) publishChange(ctx context.Context, c domain.MessageChange) error {
	value, err := json.Marshal(c)
	if err != nil {
		return err
	}
	return a.cfg.Log.Publish(ctx, ports.TopicChatMessages, []byte(c.ConversationID), value)
}
