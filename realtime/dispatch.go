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
// else; the socket stays open. A send is answered later, when the log has
// taken it (see send); the other events before Dispatch returns.
func (s *Socket) Dispatch(in wire.Inbound, ack Ack) {
	if s.ctx.Err() != nil {
		return // closing; the event dies with the socket
	}
	if in.Event == domain.EventSend {
		s.send(in, ack)
		return
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
	if in.Event == domain.EventSend {
		ev = wire.SendErrorEvent(err, in.Send.ClientMessageID)
	}
	s.answer(&ev, ack)
}

// send serves a send on a goroutine of its own, so that many sends are in
// flight on one socket (MaxSendsInFlight) and each is answered, sendResult
// or error, once the log acknowledged it or refused: answers may come in any
// order, matched by clientMessageId. The reader waits while every slot is
// taken.
func (s *Socket) send(in wire.Inbound, ack Ack) {
	s.mu.Lock()
	if s.sends == nil {
		s.sends = make(chan struct{}, MaxSendsInFlight)
	}
	slots := s.sends
	s.mu.Unlock()
	select {
	case slots <- struct{}{}:
	case <-s.ctx.Done():
		return
	}
	go func() {
		defer func() { <-slots }()
		defer s.recover()
		ctx, cancel := context.WithTimeout(s.ctx, s.ep.cfg.RequestTimeout)
		defer cancel()
		receipt, err := s.ep.cfg.Service.SendMessage(ctx, in.Send.Draft(s.user))
		if err != nil {
			s.Refuse(in, err, ack)
			return
		}
		s.answer(&domain.Event{Name: domain.EventSendResult, Data: receipt}, ack)
	}()
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
