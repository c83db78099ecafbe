package realtime

import (
	"context"
	"errors"
	"time"

	"github.com/messenger-go/messenger/domain"
)

// writeLoop is the socket's only writer: it drains the queue, pings, and
// finally closes the connection.
func (s *Socket) writeLoop() {
	defer close(s.writerDone)
	defer s.finish()
	cfg := &s.ep.cfg
	// Pings, the token's expiry and the write timeout are paced by the
	// endpoint's clock.
	s.ep.clock.add(s, cfg.PingInterval)
	defer s.ep.clock.remove(s)
	// registered is first in the queue; the wait for the resume of a socket
	// that announced one starts once it is written, so that a slow write
	// does not eat the client's time to resume.
	var grace *time.Timer
	var graceC <-chan time.Time
	defer func() {
		if grace != nil {
			grace.Stop()
		}
	}()
	// A ping waits for its pong on a goroutine of its own, so that frames
	// keep going out for the round trip (a slow network's seconds); one ping
	// is in flight at a time.
	pong := make(chan error, 1)
	pinging := false
	var batch []*Frame
	for {
		if s.ctx.Err() != nil {
			return
		}
		select {
		case <-s.ctx.Done():
			return
		case <-s.wake:
			batch = s.take(batch)
			for _, f := range batch {
				if s.ctx.Err() != nil {
					return
				}
				if err := s.handle(f); err != nil {
					s.fail("write", err)
					return
				}
				s.sent()
				if grace == nil && s.delivery.Holding() {
					grace = time.NewTimer(cfg.ResumeGrace)
					graceC = grace.C
				}
			}
			batch = recycle(batch)
		case <-graceC:
			graceC = nil
			if err := s.delivery.EndHold(s.ctx); err != nil {
				s.fail("write", err)
				return
			}
		case <-s.pingDue:
			if pinging {
				continue // the last one is still waiting for its pong
			}
			pinging = true
			go func() {
				ctx, cancel := context.WithTimeout(s.ctx, cfg.PingTimeout)
				defer cancel()
				pong <- s.t.Ping(ctx)
			}()
		case err := <-pong:
			pinging = false
			if err != nil {
				s.fail("ping", err)
				return
			}
			s.Heard()
		}
	}
}

// handle writes one queued item: a resume and live messages go through the
// socket's delivery state, anything else out as it is.
func (s *Socket) handle(f *Frame) error {
	switch {
	case f.resume != nil:
		return s.delivery.Resume(s.ctx, f.resume)
	case f.event == domain.EventNewMessage:
		err := s.delivery.Live(s.ctx, f.ref, f)
		if errors.Is(err, domain.ErrHoldOverflow) {
			s.overflow("too many messages held for the resume")
			return nil
		}
		return err
	default:
		return s.write(f)
	}
}

// write sends one frame. Its time is bounded by the endpoint's clock, which
// drops the connection after WriteTimeout: the transport needs no timer per
// frame.
func (s *Socket) write(f *Frame) error {
	s.writing.Store(s.ep.clock.stampNow())
	defer s.writing.Store(0)
	return s.t.Write(f)
}
