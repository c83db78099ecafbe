package app

import (
	"context"
	"encoding/json"
	"time"

	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
)

// SendMessage validates d (domain.NewMessage, the one validation of a message,
// with the App's clock as the send time), checks that its sender may write to
// its receiver, and appends it to chat-messages keyed by conversation. It
// answers only after the log accepted the record, so an answered send is never
// lost (I1); the sequence is assigned when the record is stored and arrives
// with newMessage.
func (a *App) SendMessage(ctx context.Context, d domain.Draft) (ports.SendReceipt, error) {
	m, err := domain.NewMessage(d, a.now())
	if err != nil {
		return ports.SendReceipt{}, err
	}
	if err := a.allow(ctx, "send:"+string(d.SenderID)); err != nil {
		return ports.SendReceipt{}, err
	}
	if err := a.canMessage(ctx, m.SenderID, m.ReceiverID); err != nil {
		return ports.SendReceipt{}, err
	}
	if err := a.attach(ctx, m); err != nil {
		return ports.SendReceipt{}, err
	}
	value, err := json.Marshal(m)
	if err != nil {
		return ports.SendReceipt{}, err
	}
	published := time.Now()
	if err := a.cfg.Log.Publish(ctx, ports.TopicChatMessages, []byte(m.ConversationID), value); err != nil {
		return ports.SendReceipt{}, err
	}
	a.stage(ports.StagePublish, time.Since(published))
	a.cfg.Metrics.MessageSent()
	return ports.SendReceipt{
		MessageID:       m.ID,
		ClientMessageID: m.ClientMessageID,
		ConversationID:  m.ConversationID,
		Status:          "queued",
	}, nil
}

// canMessage checks the friendship rules between sender and receiver; a
// recent "may message" answer is reused (Config.FriendshipCacheTTL).
func (a *App) canMessage(ctx context.Context, sender, receiver domain.UserID) error {
	return a.friends.canMessage(ctx, sender, receiver)
}

// allow applies the send rate limit under key.
func (a *App) allow(ctx context.Context, key string) error {
	return a.allowOn(ctx, a.cfg.Limiter, key)
}
