package app

import (
	"bytes"
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
)

// HandleChatMessages is the message-delivery-group handler. A record of
// chat-messages is a message, or a change of one (an edit, a deletion for
// everyone: the record's "kind"). The batch is stored in log order, in runs:
// each run of messages in one AppendBatch (dropping messages already stored,
// assigning contiguous sequences), each run of changes in one ApplyChanges,
// so a change is applied after the message it changes and after the changes
// before it. Only then are the events pushed, in the same order, to the
// sender's and the receiver's devices: newMessage, messageEdited,
// messageDeleted. Records that can never be stored are rejected to the
// dead-letter topic; a change the store refuses (an edit that lost a race to
// a deletion) is dropped with a log line; any other failure returns an error
// so the consumer retries the batch (both store calls are idempotent: a
// retry stores nothing twice and applies no change twice).
func (a *App) HandleChatMessages(ctx context.Context, batch []ports.Record) ([]ports.Rejection, error) {
	var (
		d        delivery
		appends  []ports.Append
		kept     []ports.Record
		changes  []ports.Change
		rejected []ports.Rejection
	)
	flushAppends := func() error {
		if len(appends) == 0 {
			return nil
		}
		began := time.Now()
		stored, err := a.cfg.Messages.AppendBatch(ctx, appends)
		a.stage(ports.StageStore, time.Since(began))
		if domain.KindOf(err) == domain.KindInvalid {
			// The store refused a message it cannot keep: find it one by
			// one, so the rest of the batch still flows.
			stored, rejected, err = a.appendEach(ctx, appends, kept, rejected)
		}
		if err != nil {
			return err
		}
		d.appended(a, stored)
		appends, kept = appends[:0], kept[:0]
		return nil
	}
	flushChanges := func() error {
		if len(changes) == 0 {
			return nil
		}
		results, err := a.cfg.Messages.ApplyChanges(ctx, changes)
		if err != nil {
			return err
		}
		d.changed(a, ctx, changes, results)
		changes = changes[:0]
		return nil
	}
	if a.stages != nil {
		a.stages.DeliveryBatch(len(batch))
	}
	handling := a.now()
	for _, rec := range batch {
		pos := ports.LogPosition{Partition: rec.Partition, Offset: rec.Offset}
		if isChange(rec.Value) {
			if err := flushAppends(); err != nil {
				return nil, err
			}
			c, reason := decodeChange(rec.Value)
			if reason != "" {
				rejected = append(rejected, ports.Rejection{Record: rec, Reason: reason})
				continue
			}
			changes = append(changes, ports.Change{Change: c, Position: pos})
			continue
		}
		if err := flushChanges(); err != nil {
			return nil, err
		}
		m, reason := decodeMessage(rec.Value)
		if reason != "" {
			rejected = append(rejected, ports.Rejection{Record: rec, Reason: reason})
			continue
		}
		a.stage(ports.StageConsume, handling.Sub(m.SentAt))
		appends = append(appends, ports.Append{Message: m, Position: pos})
		kept = append(kept, rec)
	}
	if err := flushAppends(); err != nil {
		return nil, err
	}
	if err := flushChanges(); err != nil {
		return nil, err
	}
	announcing := time.Now()
	a.announce(ctx, d)
	a.stage(ports.StageAnnounce, time.Since(announcing))
	return rejected, nil
}

// isChange tells a change record from a message: only a change has "kind".
func isChange(value []byte) bool {
	if !bytes.Contains(value, []byte(`"kind"`)) {
		return false // the common case, without decoding
	}
	var head struct {
		Kind *string `json:"kind"`
	}
	return json.Unmarshal(value, &head) == nil && head.Kind != nil
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

// decodeChange reads a change record, or says why it cannot be one. As for
// messages, the content was validated before it was published, and what
// names the changed message and its author is checked here; the store
// checks the author against the message.
func decodeChange(value []byte) (domain.MessageChange, string) {
	var c domain.MessageChange
	if err := json.Unmarshal(value, &c); err != nil {
		return domain.MessageChange{}, "undecodable message change: " + err.Error()
	}
	if err := c.CheckIdentity(); err != nil {
		return domain.MessageChange{}, "invalid message change: " + err.Error()
	}
	c.At = c.At.UTC()
	return c, ""
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

// delivery gathers what a batch stored, for announce: the events to push in
// log order, and the receivers whose unread counts changed.
type delivery struct {
	notes     []ports.Notification
	receivers []domain.UserID
	seen      map[domain.UserID]bool
}

func (d *delivery) receiver(u domain.UserID) {
	if d.seen == nil {
		d.seen = map[domain.UserID]bool{}
	}
	if !d.seen[u] {
		d.seen[u] = true
		d.receivers = append(d.receivers, u)
	}
}

// appended adds the stored messages. Duplicates are announced again: a crash
// between the store's commit and the announcement must not leave a message
// unannounced (I6 allows duplicates).
func (d *delivery) appended(a *App, stored []ports.Appended) {
	now := a.now()
	for _, s := range stored {
		m := s.Message
		if !s.Duplicate {
			a.cfg.Metrics.MessageStored(now.Sub(m.SentAt))
			d.receiver(m.ReceiverID)
		}
		d.notes = append(d.notes, ports.Notification{Users: []domain.UserID{m.ReceiverID, m.SenderID}, Event: domain.NewMessageEvent(m)})
	}
}

// changed adds the applied changes: messageEdited or messageDeleted to both
// members. A change applied before and read again is not announced again:
// the devices that missed it get it when they resume
// (ports.MessageStore.ChangedSince).
func (d *delivery) changed(a *App, ctx context.Context, changes []ports.Change, results []ports.Changed) {
	for i, r := range results {
		if r.Err != nil {
			c := changes[i].Change
			a.logger.InfoContext(ctx, "message change refused", "kind", c.Kind, "messageId", c.MessageID, "by", c.By, "err", r.Err)
			continue
		}
		if !r.Applied {
			continue
		}
		m := r.Message
		if m.DeletedAt != nil {
			d.receiver(m.ReceiverID)
		}
		d.notes = append(d.notes, ports.Notification{Users: []domain.UserID{m.ReceiverID, m.SenderID}, Event: domain.ChangeEvent(m)})
	}
}

// announce pushes the batch's events, in log order (which is sequence order
// per conversation), and drops the cached unread counts of the receivers of
// new and deleted messages. A Notifier that can take the whole batch at once
// (ports.BatchNotifier) gets it in one call.
func (a *App) announce(ctx context.Context, d delivery) {
	if len(d.notes) == 0 {
		return
	}
	if a.cfg.Unread == nil || len(d.receivers) == 0 {
		a.notifyAll(ctx, d.notes)
		return
	}
	// Both are round trips to the cache; neither waits for the other.
	var invalidated sync.WaitGroup
	invalidated.Go(func() { a.invalidateUnread(ctx, d.receivers...) })
	a.notifyAll(ctx, d.notes)
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
