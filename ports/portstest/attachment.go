package portstest

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
)

// RunAttachmentStore runs the contract of ports.AttachmentStore.
func RunAttachmentStore(t *testing.T, newStore func(t *testing.T) ports.AttachmentStore) {
	policy, err := domain.NewAttachmentPolicy(0, nil)
	require.NoError(t, err)
	pending := func(t *testing.T, owner domain.UserID, created, ttl int) domain.Attachment {
		t.Helper()
		a, err := domain.NewAttachment(policy, owner, domain.AttachmentRequest{FileName: "a.png", ContentType: "image/png", Size: 1234}, at(created), time.Duration(ttl)*time.Second)
		require.NoError(t, err)
		return a
	}
	sent := func(t *testing.T, s ports.AttachmentStore, a domain.Attachment) domain.Attachment {
		t.Helper()
		m, err := domain.NewMessage(domain.Draft{SenderID: a.Owner, ReceiverID: domain.NewUserID(), Text: "x", Type: "image"}, at(1))
		require.NoError(t, err)
		got, err := s.UpdateAttachment(t.Context(), a.ID, func(cur domain.Attachment) (domain.Attachment, error) { return cur.Attach(m, at(1)) })
		require.NoError(t, err)
		return got
	}
	create := func(t *testing.T, s ports.AttachmentStore, a domain.Attachment) {
		t.Helper()
		require.NoError(t, s.CreateAttachment(t.Context(), a))
	}
	ids := func(as []domain.Attachment) []domain.AttachmentID {
		out := make([]domain.AttachmentID, len(as))
		for i, a := range as {
			out[i] = a.ID
		}
		return out
	}

	t.Run("a created attachment reads back as stored", func(t *testing.T) {
		s := newStore(t)
		a := pending(t, domain.NewUserID(), 0, 60)
		create(t, s, a)
		got, err := s.Attachment(t.Context(), a.ID)
		require.NoError(t, err)
		assert.Equal(t, a, got)
		assert.Equal(t, domain.KindConflict, domain.KindOf(s.CreateAttachment(t.Context(), a)), "the same id twice")
	})

	t.Run("an unknown attachment is not found", func(t *testing.T) {
		s := newStore(t)
		_, err := s.Attachment(t.Context(), domain.AttachmentID(domain.NewUUID()))
		assert.Equal(t, domain.KindNotFound, domain.KindOf(err))
		_, err = s.UpdateAttachment(t.Context(), domain.AttachmentID(domain.NewUUID()), func(a domain.Attachment) (domain.Attachment, error) { return a, nil })
		assert.Equal(t, domain.KindNotFound, domain.KindOf(err))
	})

	t.Run("an update stores what fn returns, and nothing when fn fails", func(t *testing.T) {
		s := newStore(t)
		a := pending(t, domain.NewUserID(), 0, 60)
		create(t, s, a)
		b := sent(t, s, a)
		got, err := s.Attachment(t.Context(), a.ID)
		require.NoError(t, err)
		assert.Equal(t, b, got)
		assert.True(t, got.Sent())
		assert.True(t, got.ExpiresAt.IsZero())

		boom := errors.New("boom")
		_, err = s.UpdateAttachment(t.Context(), a.ID, func(cur domain.Attachment) (domain.Attachment, error) {
			cur.FileName = "changed"
			return cur, boom
		})
		assert.ErrorIs(t, err, boom)
		got, err = s.Attachment(t.Context(), a.ID)
		require.NoError(t, err)
		assert.Equal(t, b, got)
	})

	t.Run("concurrent updates see each other", func(t *testing.T) {
		s := newStore(t)
		a := pending(t, domain.NewUserID(), 0, 60)
		create(t, s, a)
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				_, err := s.UpdateAttachment(t.Context(), a.ID, func(cur domain.Attachment) (domain.Attachment, error) {
					cur.Size++
					return cur, nil
				})
				assert.NoError(t, err)
			})
		}
		wg.Wait()
		got, err := s.Attachment(t.Context(), a.ID)
		require.NoError(t, err)
		assert.Equal(t, a.Size+8, got.Size)
	})

	t.Run("expired lists pending attachments past their expiry, oldest first, up to the limit", func(t *testing.T) {
		s := newStore(t)
		owner := domain.NewUserID()
		late, early, fresh := pending(t, owner, 0, 20), pending(t, owner, 0, 10), pending(t, owner, 0, 100)
		used := pending(t, owner, 0, 5)
		for _, a := range []domain.Attachment{late, early, fresh, used} {
			create(t, s, a)
		}
		sent(t, s, used)
		got, err := s.ExpiredAttachments(t.Context(), at(30), 10)
		require.NoError(t, err)
		assert.Equal(t, []domain.AttachmentID{early.ID, late.ID}, ids(got))
		got, err = s.ExpiredAttachments(t.Context(), at(30), 1)
		require.NoError(t, err)
		assert.Equal(t, []domain.AttachmentID{early.ID}, ids(got))
		got, err = s.ExpiredAttachments(t.Context(), at(5), 10)
		require.NoError(t, err)
		assert.Empty(t, got)
	})

	t.Run("releasing a message's attachments makes them expire", func(t *testing.T) {
		s := newStore(t)
		owner := domain.NewUserID()
		a, other := pending(t, owner, 0, 1000), pending(t, owner, 0, 1000)
		create(t, s, a)
		create(t, s, other)
		a = sent(t, s, a)
		sent(t, s, other)
		n, err := s.ReleaseAttachments(t.Context(), a.MessageID, "", at(50))
		require.NoError(t, err)
		assert.Equal(t, 1, n)
		got, err := s.Attachment(t.Context(), a.ID)
		require.NoError(t, err)
		assert.False(t, got.Sent())
		assert.True(t, got.Expired(at(50)))
		assert.False(t, got.Readable(owner, at(50)))
		expired, err := s.ExpiredAttachments(t.Context(), at(50), 10)
		require.NoError(t, err)
		assert.Equal(t, []domain.AttachmentID{a.ID}, ids(expired))

		n, err = s.ReleaseAttachments(t.Context(), a.MessageID, "", at(60))
		require.NoError(t, err)
		assert.Zero(t, n, "released already")
	})

	t.Run("releasing an owner's attachments takes sent and pending ones, and no one else's", func(t *testing.T) {
		s := newStore(t)
		owner, stranger := domain.NewUserID(), domain.NewUserID()
		mine1, mine2, theirs := pending(t, owner, 0, 1000), pending(t, owner, 0, 1000), pending(t, stranger, 0, 1000)
		for _, a := range []domain.Attachment{mine1, mine2, theirs} {
			create(t, s, a)
		}
		sent(t, s, mine1)
		n, err := s.ReleaseAttachments(t.Context(), "", owner, at(10))
		require.NoError(t, err)
		assert.Equal(t, 2, n)
		expired, err := s.ExpiredAttachments(t.Context(), at(10), 10)
		require.NoError(t, err)
		assert.ElementsMatch(t, []domain.AttachmentID{mine1.ID, mine2.ID}, ids(expired))
	})

	t.Run("delete removes the record and may be repeated", func(t *testing.T) {
		s := newStore(t)
		a := pending(t, domain.NewUserID(), 0, 10)
		create(t, s, a)
		require.NoError(t, s.DeleteAttachment(t.Context(), a.ID))
		_, err := s.Attachment(t.Context(), a.ID)
		assert.Equal(t, domain.KindNotFound, domain.KindOf(err))
		require.NoError(t, s.DeleteAttachment(t.Context(), a.ID))
	})
}
