package realtime

import (
	"context"

	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/wire"
)

// The socket is the device end of its domain.Delivery: it reads history as
// its user and writes what the delivery decides; and it is the delivery's
// observer, turning what goes wrong into log lines, counters and error
// events. All of it runs on the writer.
var (
	_ domain.DeliveryDevice[*Frame] = (*Socket)(nil)
	_ domain.DeliveryObserver       = (*Socket)(nil)
)

// History reads one page for a replay or gap fill, bounded by RequestTimeout.
func (s *Socket) History(ctx context.Context, conv domain.ConversationID, page domain.Page) ([]domain.Message, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, s.ep.cfg.RequestTimeout)
	defer cancel()
	return s.ep.cfg.Service.History(ctx, s.user, conv, page)
}

// WriteLive writes a live frame as Notify encoded it.
func (s *Socket) WriteLive(f *Frame) error {
	if err := s.write(f); err != nil {
		return err
	}
	if d := s.ep.cfg.Delivered; d != nil && !f.sent.IsZero() {
		d(f.sent)
	}
	return nil
}

// WriteEvent encodes and writes an event of the socket's own.
func (s *Socket) WriteEvent(ev domain.Event) error {
	f, err := NewFrame(ev)
	if err != nil {
		s.ep.log.Error(s.ep.cfg.Name+": encode event", "event", ev.Name, "err", err)
		return nil
	}
	return s.write(f)
}

// ResumeFailed answers the conversation with an error event; the socket
// stays open and the other conversations replay.
func (s *Socket) ResumeFailed(conv domain.ConversationID, err error) error {
	if domain.KindOf(err) == domain.KindInternal {
		s.ep.log.Error(s.ep.cfg.Name+": resume failed", "user", s.user, "conversation", conv, "err", err)
	}
	return s.WriteEvent(wire.ErrorEvent(err))
}

// FillFailed is logged: the client, seeing the jump, resumes.
func (s *Socket) FillFailed(conv domain.ConversationID, after, before domain.Sequence, err error) {
	s.ep.log.Warn(s.ep.cfg.Name+": gap fill failed", "user", s.user, "conversation", conv,
		"after", after, "before", before, "err", err)
}

// SequenceReused is counted (Hub.SequenceReuses) and logged loudly: two
// messages under one sequence break the store's guarantee.
func (s *Socket) SequenceReused(conv domain.ConversationID, seq domain.Sequence, id domain.MessageID) {
	s.ep.cfg.Hub.reuses.Add(1)
	s.ep.log.Error(s.ep.cfg.Name+": a sequence came again under another message id; delivered", "user", s.user,
		"conversation", conv, "sequence", seq, "messageId", id)
}

// CursorAhead is logged: the client was told to resync.
func (s *Socket) CursorAhead(conv domain.ConversationID, cursor, stored domain.Sequence) {
	s.ep.log.Warn(s.ep.cfg.Name+": resume cursor ahead of the store; resync sent", "user", s.user,
		"conversation", conv, "cursor", cursor, "stored", stored)
}

var _ domain.DeliveryChanges = (*Socket)(nil)

// ChangedMessages reads what changed of a conversation below a resume's
// cursor, bounded by RequestTimeout.
func (s *Socket) ChangedMessages(ctx context.Context, conv domain.ConversationID, upTo domain.Sequence) ([]domain.Message, error) {
	ctx, cancel := context.WithTimeout(ctx, s.ep.cfg.RequestTimeout)
	defer cancel()
	return s.ep.cfg.Service.ChangedMessages(ctx, s.user, conv, upTo)
}
