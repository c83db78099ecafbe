package kafka

import (
	ckafka "github.com/confluentinc/confluent-kafka-go/v2/kafka"
)

// Lag returns, per consumer group (as named to Consume), how many records of
// the partitions this process's members own are not processed yet: the sum
// over those partitions of the high watermark minus the stored offset (or,
// for a partition with nothing stored since it was assigned, the first offset
// fetched, or the group's committed offset). Watermarks come from the latest
// fetch responses; only a partition nothing was fetched from since its
// assignment costs a request (at most 2 s, once). Other processes' members
// are not counted: sum Lag across processes.
func (s *Subscriber) Lag() map[string]int64 {
	s.mu.Lock()
	members := make([]*member, 0, len(s.members))
	for m := range s.members {
		members = append(members, m)
	}
	s.mu.Unlock()
	lag := make(map[string]int64)
	for _, m := range members {
		n, ok := m.lag()
		if ok {
			lag[m.group] += n
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
