package app

import (
	"context"
	"encoding/json"
	"time"

	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
)

// typingRecord is a record of the typing-indicators topic.
type typingRecord struct {
	SenderID   domain.UserID `json:"senderId"`
	ReceiverID domain.UserID `json:"receiverId"`
	IsTyping   bool          `json:"isTyping"`
}

// Typing queues a typing indicator for receiver. It is ephemeral: the publish
// is bounded by TypingTimeout, and nothing is stored.
func (a *App) Typing(ctx context.Context, sender, receiver domain.UserID, isTyping bool) error {
	conv, err := domain.NewConversationID(sender, receiver)
	if err != nil {
		return err
	}
	if err := a.canMessage(ctx, sender, receiver); err != nil {
		return err
	}
	value, err := json.Marshal(typingRecord{SenderID: sender, ReceiverID: receiver, IsTyping: isTyping})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, a.cfg.TypingTimeout)
	defer cancel()
	return a.cfg.Log.Publish(ctx, ports.TopicTyping, []byte(conv), value)
}

// typingMaxAge is how old a typing indicator may be and still be worth
// showing; older ones (a backlog after an outage, or a new consumer group
// starting from the oldest record) are dropped.
const typingMaxAge = 5 * time.Second

// HandleTyping is the typing-broadcast-group handler: typingIndicator to the receiver.
func (a *App) HandleTyping(ctx context.Context, batch []ports.Record) ([]ports.Rejection, error) {
	var rejected []ports.Rejection
	now := a.now()
	for _, rec := range batch {
		if !rec.Time.IsZero() && now.Sub(rec.Time) > typingMaxAge {
			continue
		}
		var t typingRecord
		if err := json.Unmarshal(rec.Value, &t); err != nil {
			rejected = append(rejected, ports.Rejection{Record: rec, Reason: "undecodable typing indicator: " + err.Error()})
			continue
		}
		conv, err := domain.NewConversationID(t.SenderID, t.ReceiverID)
		if err != nil {
			rejected = append(rejected, ports.Rejection{Record: rec, Reason: "invalid typing indicator: " + err.Error()})
			continue
		}
		a.notify(ctx, []domain.UserID{t.ReceiverID}, domain.Event{Name: domain.EventTypingIndicator, Data: domain.TypingPayload{
			SenderID: t.SenderID, ConversationID: conv, IsTyping: t.IsTyping,
		}})
	}
	return rejected, nil
}
