package memory_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/adapters/memory"
	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
	"github.com/messenger-go/messenger/ports/portstest"
)

func TestUserStore(t *testing.T) {
	portstest.RunUserStore(t, func(t *testing.T) (ports.UserStore, ports.FriendStore) {
		s := memory.NewStore()
		return s, s
	})
}

func TestFriendStore(t *testing.T) {
	portstest.RunFriendStore(t, func(t *testing.T) (ports.UserStore, ports.FriendStore) {
		s := memory.NewStore()
		return s, s
	})
}

func TestTokenStore(t *testing.T) {
	portstest.RunTokenStore(t, func(t *testing.T) (ports.UserStore, ports.TokenStore) {
		s := memory.NewStore()
		return s, s
	})
}

func TestMessageStore(t *testing.T) {
	portstest.RunMessageStore(t, func(t *testing.T) portstest.MessageStores {
		s := memory.NewStore()
		return portstest.MessageStores{Users: s, Messages: s, Receipts: s, Inbox: s}
	})
}

// twoUsers returns a store holding two users and a valid message between them.
func twoUsers(t *testing.T) (*memory.Store, domain.User, domain.User, domain.Message) {
	t.Helper()
	s := memory.NewStore()
	a := domain.User{ID: domain.NewUserID(), FirstName: "A", LastName: "A", Email: "a@example.com"}
	b := domain.User{ID: domain.NewUserID(), FirstName: "B", LastName: "B", Email: "b@example.com"}
	require.NoError(t, s.CreateUser(t.Context(), a))
	require.NoError(t, s.CreateUser(t.Context(), b))
	m, err := domain.NewMessage(domain.Draft{SenderID: a.ID, ReceiverID: b.ID, Text: "hi"}, time.Now())
	require.NoError(t, err)
	return s, a, b, m
}

func TestStoreErrorKinds(t *testing.T) {
	t.Run("a cancelled context is unavailable and stores nothing", func(t *testing.T) {
		s, _, _, m := twoUsers(t)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		_, err := s.AppendBatch(ctx, []ports.Append{{Message: m}})
		assert.Equal(t, domain.KindUnavailable, domain.KindOf(err), "error %v", err)
		got, _, err := s.History(t.Context(), m.ConversationID, domain.Page{Limit: 10})
		require.NoError(t, err)
		assert.Empty(t, got)
	})
	t.Run("marking by a non-member is invalid", func(t *testing.T) {
		s, _, _, m := twoUsers(t)
		_, err := s.AppendBatch(t.Context(), []ports.Append{{Message: m}})
		require.NoError(t, err)
		_, _, err = s.MarkRead(t.Context(), m.ConversationID, domain.NewUserID(), 1, time.Now())
		assert.Equal(t, domain.KindInvalid, domain.KindOf(err), "error %v", err)
	})
	t.Run("marking an empty conversation stays at zero", func(t *testing.T) {
		s, a, b, _ := twoUsers(t)
		conv, err := domain.NewConversationID(a.ID, b.ID)
		require.NoError(t, err)
		wm, advanced, err := s.MarkDelivered(t.Context(), conv, a.ID, 5, time.Now())
		require.NoError(t, err)
		assert.Equal(t, domain.Sequence(0), wm)
		assert.False(t, advanced)
	})
	t.Run("a friendship update that changes the pair is refused", func(t *testing.T) {
		s, a, b, _ := twoUsers(t)
		_, err := s.UpdateFriendship(t.Context(), a.ID, b.ID, func(domain.Friendship) (domain.Friendship, error) {
			return domain.Friendship{UserID: a.ID, FriendID: domain.NewUserID(), Status: domain.FriendPending}, nil
		})
		assert.Equal(t, domain.KindInternal, domain.KindOf(err), "error %v", err)
		f, err := s.Friendship(t.Context(), a.ID, b.ID)
		require.NoError(t, err)
		assert.False(t, f.Exists())
	})
}

func TestStoreReadImpliesDelivered(t *testing.T) {
	s, _, b, m := twoUsers(t)
	_, err := s.AppendBatch(t.Context(), []ports.Append{{Message: m}})
	require.NoError(t, err)
	_, _, err = s.MarkRead(t.Context(), m.ConversationID, b.ID, 1, time.Now())
	require.NoError(t, err)
	wm, advanced, err := s.MarkDelivered(t.Context(), m.ConversationID, b.ID, 1, time.Now())
	require.NoError(t, err)
	assert.Equal(t, domain.Sequence(1), wm)
	assert.False(t, advanced, "the delivered watermark followed the read one")
}

func TestStoreReturnsCopies(t *testing.T) {
	s, _, _, m := twoUsers(t)
	m.Metadata = []byte(`{"k":"v"}`)
	batch := []ports.Append{{Message: m}}
	_, err := s.AppendBatch(t.Context(), batch)
	require.NoError(t, err)
	copy(batch[0].Message.Metadata, `{"k":"X"}`)
	page, _, err := s.History(t.Context(), m.ConversationID, domain.Page{Limit: 10})
	require.NoError(t, err)
	require.Len(t, page, 1)
	assert.JSONEq(t, `{"k":"v"}`, string(page[0].Metadata))
	page[0].Text = "changed"
	again, _, err := s.History(t.Context(), m.ConversationID, domain.Page{Limit: 10})
	require.NoError(t, err)
	assert.Equal(t, "hi", again[0].Text)
}

// A stored message comes back whole: both senders, every field, its times to
// the nanosecond and in UTC, and a duplicate returns the stored one.
func TestStoreKeepsEveryField(t *testing.T) {
	s, a, b, _ := twoUsers(t)
	zone := time.FixedZone("UTC+2", 2*60*60)
	sent := time.Date(2031, 5, 6, 7, 8, 9, 123456789, zone)
	ab, err := domain.NewMessage(domain.Draft{SenderID: a.ID, ReceiverID: b.ID, Text: "a to b", Type: "image",
		Metadata: []byte(`{"url":"https://example.com/i.png"}`), ClientMessageID: "client-1"}, sent)
	require.NoError(t, err)
	ba, err := domain.NewMessage(domain.Draft{SenderID: b.ID, ReceiverID: a.ID, Text: "b to a"}, sent.Add(time.Nanosecond))
	require.NoError(t, err)
	ab.SentAt, ba.SentAt = ab.SentAt.In(zone), ba.SentAt.In(zone)
	_, err = s.AppendBatch(t.Context(), []ports.Append{{Message: ab}, {Message: ba}})
	require.NoError(t, err)

	read := time.Date(2031, 5, 6, 8, 0, 0, 987654321, zone)
	_, _, err = s.MarkRead(t.Context(), ab.ConversationID, b.ID, 1, read)
	require.NoError(t, err)
	delivered := read.Add(time.Microsecond)
	_, _, err = s.MarkDelivered(t.Context(), ab.ConversationID, a.ID, 2, delivered)
	require.NoError(t, err)

	page, _, err := s.History(t.Context(), ab.ConversationID, domain.Page{Limit: 10})
	require.NoError(t, err)
	require.Len(t, page, 2)
	for i, want := range []domain.Message{ab, ba} {
		got := page[i]
		want.Sequence = domain.Sequence(i + 1)
		assert.Equal(t, want.SentAt.UTC(), got.SentAt, "message %d: the same instant, in UTC", i)
		want.SentAt, want.DeliveredAt, want.ReadAt = got.SentAt, got.DeliveredAt, got.ReadAt
		assert.Equal(t, want, got, "message %d", i)
	}
	require.NotNil(t, page[0].ReadAt)
	require.NotNil(t, page[0].DeliveredAt)
	assert.Equal(t, read.UTC(), *page[0].ReadAt)
	assert.Equal(t, read.UTC(), *page[0].DeliveredAt, "reading delivered it at the same time")
	assert.Nil(t, page[1].ReadAt)
	require.NotNil(t, page[1].DeliveredAt)
	assert.Equal(t, delivered.UTC(), *page[1].DeliveredAt)
	assert.Nil(t, page[1].Metadata, "no metadata stays none")

	again, err := s.AppendBatch(t.Context(), []ports.Append{{Message: ab}})
	require.NoError(t, err)
	require.Len(t, again, 1)
	assert.True(t, again[0].Duplicate)
	assert.Equal(t, page[0], again[0].Message)
}

func TestAccountStore(t *testing.T) {
	portstest.RunAccountStore(t, func(t *testing.T) portstest.AccountStores {
		s := memory.NewStore()
		return portstest.AccountStores{Users: s, Friends: s, Tokens: s, Messages: s, Receipts: s, Inbox: s}
	})
}

func TestAttachmentStore(t *testing.T) {
	portstest.RunAttachmentStore(t, func(t *testing.T) ports.AttachmentStore { return memory.NewStore() })
}

func TestDeviceStore(t *testing.T) {
	portstest.RunDeviceStore(t, func(t *testing.T) (ports.UserStore, ports.DeviceStore) {
		s := memory.NewStore()
		return s, s
	})
}
