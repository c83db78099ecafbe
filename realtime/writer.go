package realtime

import (
	"context"
	"errors"
	"time"

	"github.com/messenger-go/messenger/domain"
)

// Flusher is a Transport whose Write may hold frames back until Flush: the
// writer flushes after each batch it takes from the queue, so that the
// frames queued for a socket together leave in as few system calls as the
// protocol allows. Flush has the error semantics of Write.
type Flusher interface {
	Flush() error
}

// kick makes sure a writer runs for what the socket has to do (frames
// queued, a ping or the end of a resume's hold due, a close). An idle socket
// has no writer goroutine: one starts when there is work and ends when the
// work is done, so that the memory of a connection that is only held is its
// reader's alone. It does nothing before Start.
func (s *Socket) kick() {
	s.wmu.Lock()
	if !s.started || s.writerRunning {
		s.wmu.Unlock()
		return
	}
	s.writerRunning = true
	s.wmu.Unlock()
	go s.writeLoop()
}

// hasWork reports whether there is anything for a writer to do.
func (s *Socket) hasWork() bool {
	if s.ctx.Err() != nil || s.pingDue.Load() || s.graceDue.Load() {
		return true
	}
	s.qmu.Lock()
	defer s.qmu.Unlock()
	return len(s.queue) > 0
}

// writeLoop is the socket's only writer while it runs: it drains the queue,
// starts the pings the clock asks for, ends a resume's hold, and, once the
// socket is closing, closes the connection. It returns when nothing is left
// to do.
func (s *Socket) writeLoop() {
	for {
		if s.ctx.Err() != nil {
			s.finishWriter()
			return
		}
		if err := s.writeQueued(); err != nil {
			s.fail("write", err)
			continue
		}
		if s.graceDue.Swap(false) {
			if err := s.delivery.EndHold(s.ctx); err != nil {
				s.fail("write", err)
				continue
			}
			if err := s.flush(); err != nil {
				s.fail("write", err)
				continue
			}
		}
		if s.pingDue.Swap(false) {
			s.ping()
		}
		// Leave only when nothing came meanwhile; what comes after the
		// flag is down starts another writer (kick).
		s.wmu.Lock()
		if !s.hasWork() {
			s.writerRunning = false
			s.wmu.Unlock()
			return
		}
		s.wmu.Unlock()
	}
}

// writeQueued writes every frame queued now, and flushes them.
func (s *Socket) writeQueued() error {
	batch := s.take(s.spare)
	s.spare = nil
	if len(batch) == 0 {
		s.spare = batch
		return nil
	}
	defer func() { s.spare = recycle(batch) }()
	for _, f := range batch {
		if s.ctx.Err() != nil {
			return nil // closing: the loop finishes
		}
		if err := s.handle(f); err != nil {
			return err
		}
		s.sent()
		if s.grace == nil && s.delivery.Holding() {
			// registered is first in the queue; the wait for the resume of a
			// socket that announced one starts once it is written, so that a
			// slow write does not eat the client's time to resume.
			s.grace = time.AfterFunc(s.ep.cfg.ResumeGrace, func() {
				s.graceDue.Store(true)
				s.kick()
			})
		}
	}
	return s.flush()
}

// ping sends a ping and waits for its pong on a goroutine of its own, so that
// frames keep going out for the round trip (a slow network's seconds); one
// ping is in flight at a time.
func (s *Socket) ping() {
	if !s.pinging.CompareAndSwap(false, true) {
		return // the last one is still waiting for its pong
	}
	go func() {
		defer s.pinging.Store(false)
		ctx, cancel := context.WithTimeout(s.ctx, s.ep.cfg.PingTimeout)
		defer cancel()
		if err := s.t.Ping(ctx); err != nil {
			s.fail("ping", err)
			return
		}
		s.Heard()
	}()
}

// askPing is the clock's request for a ping.
func (s *Socket) askPing() {
	s.pingDue.Store(true)
	s.kick()
}

// finishWriter ends the connection as the first Close call asked, and
// releases what the socket's writing held. The writer stays marked running,
// so that none starts after it.
func (s *Socket) finishWriter() {
	defer close(s.writerDone)
	s.ep.clock.remove(s)
	if s.grace != nil {
		s.grace.Stop()
	}
	s.finish()
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

// flush sends what the transport held back, bounded like write.
func (s *Socket) flush() error {
	fl, ok := s.t.(Flusher)
	if !ok {
		return nil
	}
	s.writing.Store(s.ep.clock.stampNow())
	defer s.writing.Store(0)
	return fl.Flush()
}
