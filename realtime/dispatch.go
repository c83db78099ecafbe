package realtime

import (
	"context"

	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/wire"
)

// Ack, when a transport passes one to Dispatch or Refuse, hears how an
// incoming event was answered, after the answer was queued: answer is the
// event that answered it (chatRegistered, error...), or nil for an event
// served without one (typing, ack, resume). Socket.IO acknowledges with it.
// It runs on the goroutine that served the event.
type Ack func(answer *domain.Event)

// Dispatch serves one decoded client event on the socket's behalf. Answers
// and failures go out through the socket's queue, in order with everything
// else; the socket stays open.
func (s *Socket) Dispatch(in wire.Inbound, ack Ack) {
	if s.ctx.Err() != nil {
		return // closing; the event dies with the socket
	}
	ctx, cancel := context.WithTimeout(s.ctx, s.ep.cfg.RequestTimeout)
	defer cancel()
	svc := s.ep.cfg.Service
	var err error
	var answer *domain.Event
	switch in.Event {
	case domain.EventTyping:
		err = svc.Typing(ctx, s.user, in.Typing.ReceiverID, in.Typing.IsTyping)
	case domain.EventJoinChat:
		if err = svc.JoinChat(ctx, s.user, in.JoinChat.ConversationID); err == nil {
			answer = &domain.Event{Name: domain.EventChatRegistered, Data: domain.ConversationPayload{ConversationID: in.JoinChat.ConversationID}}
		}
	case domain.EventAck:
		_, err = svc.Ack(ctx, s.user, in.Ack.ConversationID, in.Ack.UpTo)
	case domain.EventResume:
		// The writer replays before it sends anything queued after this; an
		// empty resume ends the hold for it all the same.
		s.Enqueue(&Frame{resume: in.Resume.Conversations})
	}
	if err != nil {
		s.Refuse(in, err, ack)
		return
	}
	s.answer(answer, ack)
}

// Refuse answers an incoming event with the error event of err: one that
// could not be decoded, or one its service call refused.
func (s *Socket) Refuse(in wire.Inbound, err error, ack Ack) {
	if s.ctx.Err() != nil {
		return // closing; the failure is the closing itself
	}
	if domain.KindOf(err) == domain.KindInternal {
		s.ep.log.Error(s.ep.cfg.Name+": request failed", "user", s.user, "event", in.Event, "err", err)
	}
	ev := wire.ErrorEvent(err)
	s.answer(&ev, ack)
}

// answer queues ev, when there is one, and tells ack.
func (s *Socket) answer(ev *domain.Event, ack Ack) {
	if ev != nil {
		s.Reply(*ev)
	}
	if ack != nil {
		ack(ev)
	}
}

// Reply encodes ev and queues it on the socket.
func (s *Socket) Reply(ev domain.Event) {
	f, err := NewFrame(ev)
	if err != nil {
		s.ep.log.Error(s.ep.cfg.Name+": encode event", "event", ev.Name, "err", err)
		return
	}
	s.Enqueue(f)
}
