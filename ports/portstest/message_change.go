package portstest

import (
	"encoding/json"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
)

// edit is the change of m to text by its sender at at(sec).
func (c *chat) edit(m domain.Message, text string, sec int) domain.MessageChange {
	c.t.Helper()
	ch, err := domain.NewEdit(m, m.SenderID, domain.Edit{Text: text}, at(sec))
	require.NoError(c.t, err)
	return ch
}

// deletion is the deletion of m by its sender at at(sec).
func (c *chat) deletion(m domain.Message, sec int) domain.MessageChange {
	c.t.Helper()
	ch, err := domain.NewDeletion(m, m.SenderID, at(sec))
	require.NoError(c.t, err)
	return ch
}

// changes wraps changes with the next log positions, after every append so far.
func (c *chat) changes(chs ...domain.MessageChange) []ports.Change {
	out := make([]ports.Change, len(chs))
	for i, ch := range chs {
		c.offset++
		out[i] = ports.Change{Change: ch, Position: ports.LogPosition{Partition: 3, Offset: c.offset}}
	}
	return out
}

// apply applies changes as one call and checks the result's shape.
func (c *chat) apply(changes ...ports.Change) []ports.Changed {
	c.t.Helper()
	got, err := c.Messages.ApplyChanges(c.t.Context(), changes)
	require.NoError(c.t, err)
	require.Len(c.t, got, len(changes), "one result per input")
	return got
}

func runMessageChanges(t *testing.T, newStores func(t *testing.T) MessageStores) {
	t.Run("MessageByID returns the stored message", func(t *testing.T) {
		c := newChat(t, newStores)
		u := c.users(2)
		m1, m2 := c.msg(u[0], u[1], "one", 1), c.msg(u[1], u[0], "two", 2)
		c.append(m1, m2)
		got, err := c.Messages.MessageByID(t.Context(), m2.ID)
		require.NoError(t, err)
		assertMessage(t, sequenced(m2, 2), got)
		assert.Equal(t, int64(1), got.Version, "as sent: version 1")
		assert.Nil(t, got.EditedAt)
		assert.Nil(t, got.DeletedAt)
		_, err = c.Messages.MessageByID(t.Context(), domain.DeriveMessageID(u[0].ID, "never sent"))
		errorKind(t, domain.KindNotFound, err)
		_, err = c.Messages.MessageByID(t.Context(), "not-a-uuid")
		errorKind(t, domain.KindInvalid, err)
	})

	t.Run("edits apply in order; history shows the current state", func(t *testing.T) {
		c := newChat(t, newStores)
		u := c.users(2)
		m := c.msg(u[0], u[1], "first", 1)
		m.Metadata = json.RawMessage(`{"k":"v"}`)
		c.append(m, c.msg(u[1], u[0], "reply", 2))
		got := c.apply(c.changes(c.edit(m, "second", 10), c.edit(m, "third", 11), c.edit(m, "third", 12))...)
		for i, want := range []struct {
			text    string
			version int64
			applied bool
		}{{"second", 2, true}, {"third", 3, true}, {"third", 3, false}} {
			require.NoError(t, got[i].Err, "change %d", i)
			assert.Equal(t, want.applied, got[i].Applied, "change %d", i)
			assert.Equal(t, want.text, got[i].Message.Text, "change %d", i)
			assert.Equal(t, want.version, got[i].Message.Version, "change %d", i)
		}
		hist := c.history(m.ConversationID)
		require.Equal(t, seqRange(1, 2), sequences(hist))
		assert.Equal(t, "third", hist[0].Text)
		assert.Equal(t, int64(3), hist[0].Version)
		assertTimePtr(t, ptr(at(11)), hist[0].EditedAt, "the applied edit's time")
		assertJSON(t, json.RawMessage(`{"k":"v"}`), hist[0].Metadata, "an edit without metadata keeps it")
		assertMessage(t, sequenced(m, 1), func() domain.Message {
			x := hist[0]
			x.Text = m.Text
			return x
		}(), "only the text changed")
		assert.Equal(t, "reply", hist[1].Text)
		byID, err := c.Messages.MessageByID(t.Context(), m.ID)
		require.NoError(t, err)
		assert.Equal(t, "third", byID.Text)
	})

	t.Run("a deletion leaves a tombstone that is not unread", func(t *testing.T) {
		c := newChat(t, newStores)
		u := c.users(2)
		a, b := u[0], u[1]
		m1, m2, m3 := c.msg(a, b, "read one", 1), c.msg(a, b, "unread one", 2), c.msg(a, b, "last one", 3)
		m1.Metadata = json.RawMessage(`{"k":"v"}`)
		c.append(m1, m2, m3)
		conv := m1.ConversationID
		_, _, err := c.Receipts.MarkRead(t.Context(), conv, b.ID, 1, at(4))
		require.NoError(t, err)

		got := c.apply(c.changes(c.deletion(m1, 10), c.deletion(m3, 11), c.deletion(m3, 12))...)
		assert.True(t, got[0].Applied)
		assert.True(t, got[1].Applied)
		assert.False(t, got[2].Applied, "a deleted message deleted again")
		hist := c.history(conv)
		require.Equal(t, seqRange(1, 3), sequences(hist), "no gap")
		for _, i := range []int{0, 2} {
			assert.Empty(t, hist[i].Text)
			assertJSON(t, nil, hist[i].Metadata)
			assertTimePtr(t, ptr(at(10+i/2)), hist[i].DeletedAt)
			assert.Equal(t, a.ID, hist[i].DeletedBy)
			assert.Equal(t, int64(2), hist[i].Version)
		}
		assert.Equal(t, "unread one", hist[1].Text)

		unread, err := c.Inbox.UnreadCounts(t.Context(), b.ID)
		require.NoError(t, err)
		assert.Equal(t, int64(1), unread.ByConversation[conv], "the unread tombstone left the count; the read one was not in it")
		convs, err := c.Inbox.Conversations(t.Context(), b.ID, 10)
		require.NoError(t, err)
		require.Len(t, convs, 1)
		assert.Equal(t, domain.Sequence(3), convs[0].LastMessage.Sequence)
		assert.NotNil(t, convs[0].LastMessage.DeletedAt, "a deleted last message shows as deleted")
		assert.Empty(t, convs[0].LastMessage.Text)
		assert.Equal(t, int64(1), convs[0].UnreadCount)

		_, _, err = c.Receipts.MarkRead(t.Context(), conv, b.ID, 3, at(20))
		require.NoError(t, err)
		unread, err = c.Inbox.UnreadCounts(t.Context(), b.ID)
		require.NoError(t, err)
		assert.Zero(t, unread.Total)
	})

	t.Run("refused changes are reported and the rest of the batch applies", func(t *testing.T) {
		c := newChat(t, newStores)
		u := c.users(2)
		text, image := c.msg(u[0], u[1], "text", 1), c.msg(u[0], u[1], "pic", 2)
		image.Type = domain.MessageImage
		gone := c.msg(u[0], u[1], "gone", 3)
		c.append(text, image, gone)
		c.apply(c.changes(c.deletion(gone, 5))...)

		byReceiver := c.edit(text, "forged", 6)
		byReceiver.By = u[1].ID
		imageEdit := c.edit(text, "caption", 6)
		imageEdit.MessageID = image.ID
		unknown := c.edit(text, "nothing", 6)
		unknown.MessageID = domain.DeriveMessageID(u[0].ID, "never sent")
		afterDelete := c.edit(text, "again", 6)
		afterDelete.MessageID = gone.ID
		got := c.apply(c.changes(byReceiver, imageEdit, unknown, afterDelete, c.edit(text, "fine", 7))...)
		errorKind(t, domain.KindForbidden, got[0].Err)
		errorKind(t, domain.KindInvalid, got[1].Err)
		errorKind(t, domain.KindNotFound, got[2].Err)
		errorKind(t, domain.KindConflict, got[3].Err)
		require.NoError(t, got[4].Err)
		assert.True(t, got[4].Applied)
		hist := c.history(text.ConversationID)
		assert.Equal(t, "fine", hist[0].Text)
		assert.Equal(t, "pic", hist[1].Text)
		assert.NotNil(t, hist[2].DeletedAt)
	})

	t.Run("a batch read again from the log changes nothing", func(t *testing.T) {
		c := newChat(t, newStores)
		u := c.users(2)
		m, other := c.msg(u[0], u[1], "v1", 1), c.msg(u[0], u[1], "other", 2)
		c.append(m, other)
		batch := c.changes(c.edit(m, "v2", 10), c.edit(m, "v3", 11), c.deletion(other, 12))
		c.apply(batch...)
		again := c.apply(batch...)
		for i, r := range again {
			require.NoError(t, r.Err)
			assert.False(t, r.Applied, "change %d", i)
		}
		stale := c.apply(batch[0])
		assert.False(t, stale[0].Applied, "an older change after a newer one is a redelivery")
		hist := c.history(m.ConversationID)
		assert.Equal(t, "v3", hist[0].Text)
		assert.Equal(t, int64(3), hist[0].Version, "each edit counted once")
		assert.Equal(t, int64(2), hist[1].Version)

		next := c.apply(c.changes(c.edit(m, "v4", 13))...)
		assert.True(t, next[0].Applied, "a later position applies")
		assert.Equal(t, int64(4), next[0].Message.Version)
	})

	t.Run("concurrent changes of one message are serialised", func(t *testing.T) {
		c := newChat(t, newStores)
		u := c.users(2)
		m := c.msg(u[0], u[1], "start", 1)
		c.append(m)
		const workers = 8
		var wg sync.WaitGroup
		errs := make([]error, workers)
		for w := range workers {
			wg.Go(func() {
				// Each in a partition of its own: none is a redelivery of another.
				ch := ports.Change{Change: c.edit(m, "edit "+token(6), 10+w), Position: ports.LogPosition{Partition: int32(100 + w), Offset: 1}}
				_, errs[w] = c.Messages.ApplyChanges(t.Context(), []ports.Change{ch})
			})
		}
		wg.Wait()
		for _, err := range errs {
			require.NoError(t, err)
		}
		hist := c.history(m.ConversationID)
		assert.Equal(t, int64(1+workers), hist[0].Version, "no edit lost")
	})

	t.Run("ChangedSince lists what changed below a cursor after it was stored", func(t *testing.T) {
		c := newChat(t, newStores)
		u := c.users(2)
		var ms []domain.Message
		for i := range 5 {
			ms = append(ms, c.msg(u[0], u[1], "m"+token(4), i+1))
		}
		c.append(ms...)
		conv := ms[0].ConversationID
		changedSince := func(upTo domain.Sequence, limit int) []domain.Sequence {
			t.Helper()
			got, err := c.Messages.ChangedSince(t.Context(), conv, upTo, limit)
			require.NoError(t, err)
			return sequences(got)
		}
		assert.Empty(t, changedSince(5, 100), "nothing changed yet")

		c.apply(c.changes(c.edit(ms[1], "edited 2", 10))...)
		assert.Equal(t, []domain.Sequence{2}, changedSince(5, 100))
		assert.Equal(t, []domain.Sequence{2}, changedSince(2, 100), "the cursor itself counts")
		assert.Empty(t, changedSince(1, 100), "above the cursor is the replay's business")

		six := c.msg(u[1], u[0], "six", 20)
		c.append(six)
		assert.Empty(t, changedSince(6, 100), "changed before message 6 was stored: a device holding 6 has it")
		c.apply(c.changes(c.deletion(ms[2], 21), c.edit(ms[0], "edited 1", 22))...)
		assert.Equal(t, []domain.Sequence{1, 3}, changedSince(6, 100))
		assert.Equal(t, []domain.Sequence{1, 2, 3}, changedSince(5, 100))
		assert.Equal(t, []domain.Sequence{2, 3}, changedSince(5, 2), "the newest changed when there are more")
		got, err := c.Messages.ChangedSince(t.Context(), conv, 6, 100)
		require.NoError(t, err)
		require.Len(t, got, 2)
		assert.Equal(t, "edited 1", got[0].Text, "their current state")
		assert.NotNil(t, got[1].DeletedAt)
		assert.Empty(t, changedSince(7, 100), "a cursor beyond the store")
		other, err := c.Messages.ChangedSince(t.Context(), conversation(t, u[0], c.users(1)[0]), 1, 100)
		require.NoError(t, err)
		assert.Empty(t, other)
	})
}
