package memory_test

import (
	"context"
	"strings"
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
	portstest.RunUserStore(t, func(t *testing.T) ports.UserStore { return memory.NewStore() })
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
	t.Run("a text over the size limit is invalid for the store", func(t *testing.T) {
		s, _, _, m := twoUsers(t)
		m.Text = strings.Repeat("x", domain.MaxMessageBytes+1)
		_, err := s.AppendBatch(t.Context(), []ports.Append{{Message: m}})
		assert.Equal(t, domain.KindInvalid, domain.KindOf(err), "error %v", err)
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
