package app

import (
	"context"
	"encoding/json"
	"sync"

	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
)

// HandleChatMessages is the message-delivery-group handler. It stores the batch
// in one AppendBatch (dropping messages already stored, assigning contiguous
// sequences), and only then pushes newMessage to the sender's and the
// receiver's devices. Records that can never be stored are rejected to the
// dead-letter topic; any other failure returns an error so the consumer retries
// the batch (AppendBatch is idempotent, so a retry stores nothing twice).
func (a *App) HandleChatMessages(ctx context.Context, batch []ports.Record) ([]ports.Rejection, error) {
	appends := make([]ports.Append, 0, len(batch))
	kept := make([]ports.Record, 0, len(batch))
	var rejected []ports.Rejection
	for _, rec := range batch {
		m, reason := decodeMessage(rec.Value)
		if reason != "" {
			rejected = append(rejected, ports.Rejection{Record: rec, Reason: reason})
			continue
		}
		appends = append(appends, ports.Append{Message: m, Position: ports.LogPosition{Partition: rec.Partition, Offset: rec.Offset}})
		kept = append(kept, rec)
	}
	if len(appends) == 0 {
		return rejected, nil
	}
	stored, err := a.cfg.Messages.AppendBatch(ctx, appends)
	if domain.KindOf(err) == domain.KindInvalid {
		// The store refused a message it cannot keep: find it one by one, so
		// the rest of the batch still flows.
		stored, rejected, err = a.appendEach(ctx, appends, kept, rejected)
	}
	if err != nil {
		return nil, err
	}
	a.announce(ctx, stored)
	return rejected, nil
}

// decodeMessage reads a chat-messages record, or says why it cannot be a
// message. The log holds what SendMessage published after NewMessage accepted
// it, so the content is trusted; the identity is checked (see
// domain.Message.CheckIdentity), as the store's idempotency rests on it and
// other processes can write to the log too. A store refuses what it cannot
// keep besides, and HandleChatMessages rejects that record alone.
func decodeMessage(value []byte) (domain.Message, string) {
	var m domain.Message
	if err := json.Unmarshal(value, &m); err != nil {
		return domain.Message{}, "undecodable message: " + err.Error()
	}
	if err := m.CheckIdentity(); err != nil {
		return domain.Message{}, "invalid message: " + err.Error()
	}
	m.Sequence, m.DeliveredAt, m.ReadAt = 0, nil, nil // assigned by the store
	return domain.RestoreMessage(m), ""
}

// appendEach stores the batch message by message, rejecting the ones the store
// calls invalid.
func (a *App) appendEach(ctx context.Context, appends []ports.Append, recs []ports.Record, rejected []ports.Rejection) ([]ports.Appended, []ports.Rejection, error) {
	var stored []ports.Appended
	for i, ap := range appends {
		one, err := a.cfg.Messages.AppendBatch(ctx, []ports.Append{ap})
		switch {
		case domain.KindOf(err) == domain.KindInvalid:
			rejected = append(rejected, ports.Rejection{Record: recs[i], Reason: "store rejected message: " + err.Error()})
		case err != nil:
			return nil, nil, err
		default:
			stored = append(stored, one...)
		}
	}
	return stored, rejected, nil
}

// announce pushes each stored message to both members, in batch order (which
// is sequence order per conversation), and drops the receivers' cached unread
// counts. Duplicates are announced again: a crash between the store's commit
// and this point must not leave a message unannounced (I6 allows duplicates).
// A Notifier that can take the whole batch at once (ports.BatchNotifier) gets
// it in one call.
func (a *App) announce(ctx context.Context, stored []ports.Appended) {
	now := a.now()
	receivers := make([]domain.UserID, 0, len(stored))
	seen := make(map[domain.UserID]bool, len(stored))
	notes := make([]ports.Notification, 0, len(stored))
	for _, s := range stored {
		m := s.Message
		if !s.Duplicate {
			a.cfg.Metrics.MessageStored(now.Sub(m.SentAt))
			if !seen[m.ReceiverID] {
				seen[m.ReceiverID] = true
				receivers = append(receivers, m.ReceiverID)
			}
		}
		notes = append(notes, ports.Notification{Users: []domain.UserID{m.ReceiverID, m.SenderID}, Event: domain.NewMessageEvent(m)})
	}
	if a.cfg.Unread == nil || len(receivers) == 0 {
		a.notifyAll(ctx, notes)
		return
	}
	// Both are round trips to the cache; neither waits for the other.
	var invalidated sync.WaitGroup
	invalidated.Go(func() { a.invalidateUnread(ctx, receivers...) })
	a.notifyAll(ctx, notes)
	invalidated.Wait()
}

// notifyAll pushes notes in order, in one call when the Notifier takes
// batches; failures are logged, as notify does.
func (a *App) notifyAll(ctx context.Context, notes []ports.Notification) {
	if bn, ok := a.cfg.Notifier.(ports.BatchNotifier); ok && len(notes) > 1 {
		if err := bn.NotifyBatch(ctx, notes); err != nil {
			a.logger.WarnContext(ctx, "notify failed", "events", len(notes), "err", err)
		}
		return
	}
	for _, n := range notes {
		a.notify(ctx, n.Users, n.Event)
	}
}

// invalidateUnread drops cached unread counts; a failure is logged (the
// entries expire on their own).
func (a *App) invalidateUnread(ctx context.Context, users ...domain.UserID) {
	if a.cfg.Unread == nil || len(users) == 0 {
		return
	}
	if err := a.cfg.Unread.Invalidate(ctx, users...); err != nil {
		a.logger.WarnContext(ctx, "unread cache invalidation failed", "users", len(users), "err", err)
	}
}
