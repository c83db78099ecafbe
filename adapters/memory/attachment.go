package memory

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
)

var _ ports.AttachmentStore = (*Store)(nil)

// CreateAttachment implements ports.AttachmentStore.
func (s *Store) CreateAttachment(ctx context.Context, a domain.Attachment) error {
	if err := live(ctx); err != nil {
		return err
	}
	s.attMu.Lock()
	defer s.attMu.Unlock()
	if _, ok := s.attachments[a.ID]; ok {
		return domain.Errorf(domain.KindConflict, "attachment exists")
	}
	s.attachments[a.ID] = a
	return nil
}

// Attachment implements ports.AttachmentStore.
func (s *Store) Attachment(ctx context.Context, id domain.AttachmentID) (domain.Attachment, error) {
	if err := live(ctx); err != nil {
		return domain.Attachment{}, err
	}
	s.attMu.Lock()
	defer s.attMu.Unlock()
	return s.attachment(id)
}

// attachment reads id; the caller holds attMu.
func (s *Store) attachment(id domain.AttachmentID) (domain.Attachment, error) {
	a, ok := s.attachments[id]
	if !ok {
		return domain.Attachment{}, domain.Errorf(domain.KindNotFound, "no such attachment")
	}
	return a, nil
}

// UpdateAttachment implements ports.AttachmentStore; fn runs under the lock.
func (s *Store) UpdateAttachment(ctx context.Context, id domain.AttachmentID, fn func(domain.Attachment) (domain.Attachment, error)) (domain.Attachment, error) {
	if err := live(ctx); err != nil {
		return domain.Attachment{}, err
	}
	s.attMu.Lock()
	defer s.attMu.Unlock()
	a, err := s.attachment(id)
	if err != nil {
		return domain.Attachment{}, err
	}
	next, err := fn(a)
	if err != nil {
		return domain.Attachment{}, err
	}
	next.ID = id
	s.attachments[id] = next
	return next, nil
}

// ReleaseAttachments implements ports.AttachmentStore.
func (s *Store) ReleaseAttachments(ctx context.Context, msg domain.MessageID, owner domain.UserID, at time.Time) (int, error) {
	if err := live(ctx); err != nil {
		return 0, err
	}
	s.attMu.Lock()
	defer s.attMu.Unlock()
	n := 0
	for id, a := range s.attachments {
		if (msg == "" || a.MessageID != msg) && (owner == "" || a.Owner != owner) {
			continue
		}
		if !a.Sent() && !a.ExpiresAt.After(at) {
			continue // released or expired already
		}
		a.MessageID, a.ConversationID, a.ExpiresAt = "", "", at.UTC()
		s.attachments[id] = a
		n++
	}
	return n, nil
}

// ExpiredAttachments implements ports.AttachmentStore.
func (s *Store) ExpiredAttachments(ctx context.Context, now time.Time, limit int) ([]domain.Attachment, error) {
	if err := live(ctx); err != nil {
		return nil, err
	}
	s.attMu.Lock()
	defer s.attMu.Unlock()
	var out []domain.Attachment
	for _, a := range s.attachments {
		if a.Expired(now) {
			out = append(out, a)
		}
	}
	slices.SortFunc(out, func(x, y domain.Attachment) int {
		return cmp.Or(x.ExpiresAt.Compare(y.ExpiresAt), cmp.Compare(x.ID, y.ID))
	})
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// DeleteAttachment implements ports.AttachmentStore.
func (s *Store) DeleteAttachment(ctx context.Context, id domain.AttachmentID) error {
	if err := live(ctx); err != nil {
		return err
	}
	s.attMu.Lock()
	defer s.attMu.Unlock()
	delete(s.attachments, id)
	return nil
}
