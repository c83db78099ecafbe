package memory

import (
	"context"

	"github.com/google/uuid"

	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
)

// MessageByID returns the stored message. Errors: KindInvalid, KindNotFound.
func (s *Store) MessageByID(ctx context.Context, id domain.MessageID) (domain.Message, error) {
	if err := live(ctx); err != nil {
		return domain.Message{}, err
	}
	key, err := uuid.Parse(string(id))
	if err != nil {
		return domain.Message{}, domain.Errorf(domain.KindInvalid, "message id is not a UUID")
	}
	s.msgMu.RLock()
	defer s.msgMu.RUnlock()
	ref, ok := s.messages[key]
	if !ok {
		return domain.Message{}, domain.Errorf(domain.KindNotFound, "message not found")
	}
	return s.convList[ref.conv].message(int(ref.seq) - 1), nil
}

// ApplyChanges applies the changes in order under the messages lock.
func (s *Store) ApplyChanges(ctx context.Context, changes []ports.Change) ([]ports.Changed, error) {
	if err := live(ctx); err != nil {
		return nil, err
	}
	out := make([]ports.Changed, len(changes))
	s.msgMu.Lock()
	defer s.msgMu.Unlock()
	for i, ch := range changes {
		key, err := uuid.Parse(string(ch.Change.MessageID))
		if err != nil {
			out[i].Err = domain.Errorf(domain.KindInvalid, "message id is not a UUID")
			continue
		}
		ref, ok := s.messages[key]
		if !ok {
			out[i].Err = domain.Errorf(domain.KindNotFound, "message not found")
			continue
		}
		c, at := s.convList[ref.conv], int(ref.seq)-1
		cur := c.message(at)
		if r := c.msgs[at]; r.changed && r.change.Partition == ch.Position.Partition && ch.Position.Offset <= r.change.Offset {
			out[i] = ports.Changed{Message: cur} // the log delivered it again
			continue
		}
		next, changed, err := cur.Apply(ch.Change)
		switch {
		case err != nil:
			out[i].Err = err
		case !changed:
			out[i] = ports.Changed{Message: cur}
		default:
			c.replace(at, next)
			c.msgs[at].change, c.msgs[at].changed = ch.Position, true
			out[i] = ports.Changed{Message: c.message(at), Applied: true}
		}
	}
	return out, nil
}

// ChangedSince returns the messages of conv up to upTo changed after upTo
// was appended, the newest limit of them.
func (s *Store) ChangedSince(ctx context.Context, conv domain.ConversationID, upTo domain.Sequence, limit int) ([]domain.Message, error) {
	if err := live(ctx); err != nil {
		return nil, err
	}
	s.msgMu.RLock()
	defer s.msgMu.RUnlock()
	c, ok := s.lookup(conv)
	if !ok || upTo < 1 || int(upTo) > len(c.msgs) || limit <= 0 {
		return nil, nil
	}
	base := c.msgs[upTo-1].pos
	var found []int
	for i := int(upTo) - 1; i >= 0 && len(found) < limit; i-- {
		r := &c.msgs[i]
		if r.changed && (r.change.Partition != base.Partition || r.change.Offset > base.Offset) {
			found = append(found, i)
		}
	}
	out := make([]domain.Message, len(found))
	for k, i := range found {
		out[len(found)-1-k] = c.message(i)
	}
	return out, nil
}
