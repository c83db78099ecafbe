package websocket

import (
	"context"
	"encoding/json"

	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/wire"
)

// The socket is the device end of its domain.Delivery: it reads history as
// its user and writes what the delivery decides; and it is the delivery's
// observer, turning what goes wrong into log lines, counters and error
// events. All of it runs on the writer.
var (
	_ domain.DeliveryDevice[*frame] = (*socket)(nil)
	_ domain.DeliveryObserver       = (*socket)(nil)
)

// History reads one page for a replay or gap fill, bounded by RequestTimeout.
func (s *socket) History(ctx context.Context, conv domain.ConversationID, page domain.Page) ([]domain.Message, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, s.handler.cfg.RequestTimeout)
	defer cancel()
	return s.handler.cfg.Service.History(ctx, s.user, conv, page)
}

// WriteLive writes a live frame as Notify encoded it.
func (s *socket) WriteLive(f *frame) error { return s.write(f.data) }

// WriteEvent encodes and writes an event of the socket's own.
func (s *socket) WriteEvent(ev domain.Event) error {
	data, err := json.Marshal(ev)
	if err != nil {
		s.handler.log.Error("websocket: encode event", "event", ev.Name, "err", err)
		return nil
	}
	return s.write(data)
}

// ResumeFailed answers the conversation with an error event; the socket
// stays open and the other conversations replay.
func (s *socket) ResumeFailed(conv domain.ConversationID, err error) error {
	if domain.KindOf(err) == domain.KindInternal {
		s.handler.log.Error("websocket: resume failed", "user", s.user, "conversation", conv, "err", err)
	}
	return s.WriteEvent(wire.ErrorEvent(err))
}

// FillFailed is logged: the client, seeing the jump, resumes.
func (s *socket) FillFailed(conv domain.ConversationID, after, before domain.Sequence, err error) {
	s.handler.log.Warn("websocket: gap fill failed", "user", s.user, "conversation", conv,
		"after", after, "before", before, "err", err)
}

// SequenceReused is counted (Hub.SequenceReuses) and logged loudly: two
// messages under one sequence break the store's guarantee.
func (s *socket) SequenceReused(conv domain.ConversationID, seq domain.Sequence, id domain.MessageID) {
	s.hub.reuses.Add(1)
	s.handler.log.Error("websocket: a sequence came again under another message id; delivered", "user", s.user,
		"conversation", conv, "sequence", seq, "messageId", id)
}

// CursorAhead is logged: the client was told to resync.
func (s *socket) CursorAhead(conv domain.ConversationID, cursor, stored domain.Sequence) {
	s.handler.log.Warn("websocket: resume cursor ahead of the store; resync sent", "user", s.user,
		"conversation", conv, "cursor", cursor, "stored", stored)
}

var _ domain.DeliveryChanges = (*socket)(nil)

// ChangedMessages reads what changed of a conversation below a resume's
// cursor, bounded by RequestTimeout.
func (s *socket) ChangedMessages(ctx context.Context, conv domain.ConversationID, upTo domain.Sequence) ([]domain.Message, error) {
	ctx, cancel := context.WithTimeout(ctx, s.handler.cfg.RequestTimeout)
	defer cancel()
	return s.handler.cfg.Service.ChangedMessages(ctx, s.user, conv, upTo)
}
