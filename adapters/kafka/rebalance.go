package kafka

import (
	ckafka "github.com/confluentinc/confluent-kafka-go/v2/kafka"
)

// rebalance runs inside Poll when the group gives or takes partitions.
func (m *member) rebalance(c *ckafka.Consumer, ev ckafka.Event) error {
	cooperative := c.GetRebalanceProtocol() == "COOPERATIVE"
	switch e := ev.(type) {
	case ckafka.AssignedPartitions:
		var err error
		if cooperative {
			err = c.IncrementalAssign(e.Partitions)
		} else {
			err = c.Assign(e.Partitions)
		}
		if err != nil {
			m.cfg.Logger.Error("kafka: assign", append(m.log(), "err", err)...)
			return err
		}
		m.mu.Lock()
		m.gen++
		for _, tp := range e.Partitions {
			m.owned[tp.Partition] = &partition{gen: m.gen, next: -1, first: -1, stored: -1, start: -1}
		}
		pausing := m.pausing
		m.mu.Unlock()
		if pausing {
			m.pause(e.Partitions)
		}
		m.cfg.Logger.Info("kafka: partitions assigned", append(m.log(), "partitions", numbers(e.Partitions))...)
	case ckafka.RevokedPartitions:
		lost := c.AssignmentLost()
		m.mu.Lock()
		for _, tp := range e.Partitions {
			delete(m.owned, tp.Partition)
		}
		m.pending = m.keepOwned(m.pending)
		m.mu.Unlock()
		var err error
		if cooperative {
			err = c.IncrementalUnassign(e.Partitions)
		} else {
			err = c.Unassign()
		}
		if err != nil {
			m.cfg.Logger.Error("kafka: unassign", append(m.log(), "err", err)...)
			return err
		}
		m.cfg.Logger.Info("kafka: partitions revoked",
			append(m.log(), "partitions", numbers(e.Partitions), "lost", lost)...)
	}
	return nil
}

// owns reports whether partition n is still owned under assignment gen.
// m.mu must be held.
func (m *member) owns(n int32, gen uint64) bool {
	p, ok := m.owned[n]
	return ok && p.gen == gen
}

// keepOwned drops the items of partitions no longer owned (or revoked and
// assigned again since they were fetched: the new assignment fetches them
// anew). m.mu must be held.
func (m *member) keepOwned(items []item) []item {
	kept := items[:0]
	for _, it := range items {
		if m.owns(it.rec.Partition, it.gen) {
			kept = append(kept, it)
		}
	}
	clear(items[len(kept):])
	return kept
}

// pause stops fetching parts; fetching resumes where the handed out records end.
func (m *member) pause(parts []ckafka.TopicPartition) {
	if len(parts) == 0 {
		return
	}
	if err := m.c.Pause(parts); err != nil {
		m.cfg.Logger.Warn("kafka: pause", append(m.log(), "err", err)...)
		return
	}
	m.mu.Lock()
	for _, tp := range parts {
		if p, ok := m.owned[tp.Partition]; ok {
			p.paused = true
		}
	}
	m.mu.Unlock()
}

// ownedList returns the owned partitions. m.mu must be held.
func (m *member) ownedList() []ckafka.TopicPartition {
	parts := make([]ckafka.TopicPartition, 0, len(m.owned))
	for n := range m.owned {
		parts = append(parts, ckafka.TopicPartition{Topic: &m.wireTopic, Partition: n})
	}
	return parts
}

func numbers(parts []ckafka.TopicPartition) []int32 {
	out := make([]int32, len(parts))
	for i, tp := range parts {
		out[i] = tp.Partition
	}
	return out
}
