package app

import (
	"context"
	"encoding/json"
	"time"

	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
)

// readRecord is a record of the read-receipts topic.
type readRecord struct {
	ConversationID domain.ConversationID `json:"conversationId"`
	ReaderID       domain.UserID         `json:"readerId"`
	UpTo           domain.Sequence       `json:"upToSequenceId"`
	At             time.Time             `json:"at"`
}

// MarkRead queues the caller's read watermark of conv to move to upTo. The
// receipt-update-group consumer stores it and tells the peer.
func (a *App) MarkRead(ctx context.Context, caller domain.UserID, conv domain.ConversationID, upTo domain.Sequence) (domain.Watermark, error) {
	if err := participant(conv, caller); err != nil {
		return domain.Watermark{}, err
	}
	if upTo < 1 {
		return domain.Watermark{}, domain.Errorf(domain.KindInvalid, "upToSequenceId must be at least 1")
	}
	value, err := json.Marshal(readRecord{ConversationID: conv, ReaderID: caller, UpTo: upTo, At: a.now().UTC()})
	if err != nil {
		return domain.Watermark{}, err
	}
	if err := a.cfg.Log.Publish(ctx, ports.TopicReadReceipts, []byte(conv), value); err != nil {
		return domain.Watermark{}, err
	}
	return domain.Watermark{ConversationID: conv, UpTo: upTo}, nil
}

// HandleReadReceipts is the receipt-update-group handler: it advances each
// reader's watermark (monotonic, so replays change nothing), drops the reader's
// cached unread counts and sends readReceipt to the peer when the watermark moved.
func (a *App) HandleReadReceipts(ctx context.Context, batch []ports.Record) ([]ports.Rejection, error) {
	var rejected []ports.Rejection
	for _, rec := range batch {
		var r readRecord
		if err := json.Unmarshal(rec.Value, &r); err != nil {
			rejected = append(rejected, ports.Rejection{Record: rec, Reason: "undecodable read receipt: " + err.Error()})
			continue
		}
		conv, err := domain.ParseConversationID(string(r.ConversationID))
		if err != nil || !conv.Has(r.ReaderID) || r.UpTo < 1 {
			rejected = append(rejected, ports.Rejection{Record: rec, Reason: "invalid read receipt"})
			continue
		}
		at := r.At
		if at.IsZero() {
			at = a.now().UTC()
		}
		upTo, advanced, err := a.cfg.Receipts.MarkRead(ctx, conv, r.ReaderID, r.UpTo, at)
		if err != nil {
			return nil, err
		}
		if !advanced {
			continue
		}
		a.invalidateUnread(ctx, r.ReaderID)
		peer, _ := conv.Peer(r.ReaderID)
		a.notify(ctx, []domain.UserID{peer}, domain.Event{Name: domain.EventReadReceipt, Data: domain.ReadReceipt{
			ConversationID: conv, ReaderID: r.ReaderID, UpTo: upTo, ReadAt: at,
		}})
	}
	return rejected, nil
}
