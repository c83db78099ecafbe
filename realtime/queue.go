package realtime

// Enqueue offers f to the writer without blocking. A full queue closes the
// socket with CloseTooSlow.
func (s *Socket) Enqueue(f *Frame) {
	if s.ctx.Err() != nil {
		return
	}
	s.qmu.Lock()
	full := s.pending.Load() >= int64(s.ep.cfg.Hub.cfg.QueueSize)
	if !full {
		s.queue = append(s.queue, f)
		s.pending.Add(1)
	}
	s.qmu.Unlock()
	if full {
		s.overflow("queue full")
		return
	}
	s.kick()
}

// overflow closes a socket that cannot keep up with CloseTooSlow.
func (s *Socket) overflow(what string) {
	if s.Close(CloseTooSlow) {
		s.ep.cfg.Hub.overflows.Add(1)
		s.ep.log.Info(s.ep.cfg.Name+": "+what+", closing socket", "user", s.user, "queue", s.ep.cfg.Hub.cfg.QueueSize)
	}
}

// keptBatch is the largest batch buffer the writer keeps for reuse; a
// burst's larger one is left to the collector.
const keptBatch = 16

// take hands the writer every queued frame; buf, empty, becomes the queue.
func (s *Socket) take(buf []*Frame) []*Frame {
	s.qmu.Lock()
	defer s.qmu.Unlock()
	batch := s.queue
	s.queue = buf
	return batch
}

// sent tells the queue that the writer is done with one frame it took.
func (s *Socket) sent() { s.pending.Add(-1) }

// recycle empties a finished batch for the next take, keeping none of its
// frames reachable.
func recycle(batch []*Frame) []*Frame {
	clear(batch)
	if cap(batch) > keptBatch {
		return nil
	}
	return batch[:0]
}
