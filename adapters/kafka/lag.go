package kafka

import (
	"time"

	ckafka "github.com/confluentinc/confluent-kafka-go/v2/kafka"
)

// lagWait bounds how long Lag waits for the members' clients: above the 2 s
// a committed-offset request may take.
const lagWait = 3 * time.Second

// Lag returns, per consumer group (as named to Consume), how many records of
// the partitions this process's members own are not processed yet: the sum
// over those partitions of the high watermark minus the stored offset (or,
// for a partition with nothing stored since it was assigned, the first offset
// fetched, or the group's committed offset). Watermarks come from the latest
// fetch responses; only a partition nothing was fetched from since its
// assignment costs a request (at most 2 s, once). Other processes' members
// are not counted: sum Lag across processes.
//
// Lag returns within lagWait whatever the clients do. A member whose client
// has not answered by then, or has not yet answered an earlier call, is left
// out and logged: librdkafka has been seen to block a watermark read for good
// after a partition leader died (a lock held by a stuck client thread), and a
// metrics scrape must not hang with it.
func (s *Subscriber) Lag() map[string]int64 {
	s.mu.Lock()
	members := make([]*member, 0, len(s.members))
	for m := range s.members {
		members = append(members, m)
	}
	s.mu.Unlock()
	type result struct {
		group string
		n     int64
		ok    bool
	}
	results := make(chan result, len(members))
	asked := 0
	for _, m := range members {
		if !m.lagBusy.CompareAndSwap(false, true) {
			s.cfg.Logger.Error("kafka: a consumer client has not answered an earlier lag read; its lag is left out", m.log()...)
			continue
		}
		asked++
		go func() {
			defer m.lagBusy.Store(false)
			n, ok := s.lagOf(m)
			results <- result{group: m.group, n: n, ok: ok}
		}()
	}
	timer := time.NewTimer(s.lagWait)
	defer timer.Stop()
	lag := make(map[string]int64)
	for range asked {
		select {
		case r := <-results:
			if r.ok {
				lag[r.group] += r.n
			}
		case <-timer.C:
			s.cfg.Logger.Error("kafka: a consumer client did not answer a lag read in time; its lag is left out", "wait", s.lagWait)
			return lag
		}
	}
	return lag
}

// lag sums high watermark minus processed position over the owned partitions.
// The processed position is the stored offset; before anything was stored,
// the first offset fetched; before anything was fetched, the group's committed
// offset (or the log start when the group has none), asked for once per
// assignment. A partition whose high watermark is not known yet counts 0.
func (m *member) lag() (int64, bool) {
	m.client.RLock()
	defer m.client.RUnlock()
	if m.closed {
		return 0, false
	}
	type part struct {
		n     int32
		gen   uint64
		at    int64
		known bool
	}
	m.mu.Lock()
	parts := make([]part, 0, len(m.owned))
	var ask []ckafka.TopicPartition
	for n, p := range m.owned {
		q := part{n: n, gen: p.gen, known: true}
		switch {
		case p.stored >= 0:
			q.at = p.stored
		case p.first >= 0:
			q.at = p.first
		case p.start >= 0:
			q.at = p.start
		default:
			q.known = false
			ask = append(ask, ckafka.TopicPartition{Topic: &m.wireTopic, Partition: n})
		}
		parts = append(parts, q)
	}
	m.mu.Unlock()

	committed := map[int32]int64{}
	if len(ask) > 0 {
		got, err := m.c.Committed(ask, 2000)
		if err != nil {
			m.cfg.Logger.Debug("kafka: committed offsets for lag", append(m.log(), "err", err)...)
		}
		for _, tp := range got {
			if tp.Error == nil && tp.Offset >= 0 {
				committed[tp.Partition] = int64(tp.Offset)
			}
		}
	}

	var total int64
	for _, q := range parts {
		low, high, err := m.c.GetWatermarkOffsets(m.wireTopic, q.n)
		if err != nil || high < 0 {
			continue
		}
		if !q.known {
			at, ok := committed[q.n]
			switch {
			case ok:
				m.mu.Lock()
				if p, still := m.owned[q.n]; still && p.gen == q.gen {
					p.start = at
				}
				m.mu.Unlock()
			case low >= 0:
				at = low // nothing committed: consuming starts at the log start
			default:
				continue
			}
			q.at = at
		}
		total += max(high-q.at, 0)
	}
	return total, true
}
