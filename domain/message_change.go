package domain

import "time"

// Erased returns m deleted for everyone: a tombstone deleted at at by by,
// with its text and metadata gone and its version one up. It keeps its
// sequence, so clients see no gap. A tombstone is returned as it is.
func (m Message) Erased(by UserID, at time.Time) Message {
	if m.DeletedAt != nil {
		return m
	}
	at = at.UTC()
	m.Text, m.Metadata = "", nil
	m.DeletedAt, m.DeletedBy = &at, by
	m.Version = max(m.Version, 1) + 1
	return m
}
