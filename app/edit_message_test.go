package app_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
)

// sent sends text from a to b and waits until it is stored.
func (w *world) sent(t *testing.T, a, b domain.UserID, text string) domain.Message {
	t.Helper()
	r, err := w.app.SendMessage(context.Background(), domain.Draft{SenderID: a, ReceiverID: b, Text: text})
	require.NoError(t, err)
	var m domain.Message
	require.Eventually(t, func() bool {
		m, err = w.store.MessageByID(context.Background(), r.MessageID)
		return err == nil
	}, 5*time.Second, 5*time.Millisecond)
	return m
}

// events returns the change events u got, in order.
func (w *world) changeEvents(u domain.UserID) []domain.Event {
	w.notes.mu.Lock()
	defer w.notes.mu.Unlock()
	var out []domain.Event
	for _, ev := range w.notes.events[u] {
		if ev.Name == domain.EventMessageEdited || ev.Name == domain.EventMessageDeleted {
			out = append(out, ev)
		}
	}
	return out
}

func TestEditAndDeleteThroughTheLog(t *testing.T) {
	w := newWorld(t)
	w.run(t)
	ctx := t.Context()
	a, b := w.user(t, "ann"), w.user(t, "ben")
	w.friends(t, a, b)
	m := w.sent(t, a, b, "helo")

	edited, err := w.app.EditMessage(ctx, a, m.ID, domain.Edit{Text: "hello"})
	require.NoError(t, err)
	assert.Equal(t, "hello", edited.Text, "the answer is the message as the edit makes it")
	assert.Equal(t, int64(2), edited.Version)
	require.NotNil(t, edited.EditedAt)
	assert.Equal(t, m.Sequence, edited.Sequence)
	for _, u := range []domain.UserID{a, b} {
		require.Eventually(t, func() bool { return len(w.changeEvents(u)) == 1 }, 5*time.Second, 5*time.Millisecond)
		ev := w.changeEvents(u)[0]
		require.Equal(t, domain.EventMessageEdited, ev.Name, "both sides hear of it")
		assert.Equal(t, "hello", ev.Data.(domain.Message).Text)
		assert.Equal(t, int64(2), ev.Data.(domain.Message).Version)
	}
	assert.Equal(t, "hello", w.history(t, b, a)[0].Text)

	again, err := w.app.EditMessage(ctx, a, m.ID, domain.Edit{Text: "hello"})
	require.NoError(t, err, "a retried edit")
	assert.Equal(t, int64(2), again.Version, "changes nothing")

	require.NoError(t, w.app.DeleteMessage(ctx, a, m.ID))
	for _, u := range []domain.UserID{a, b} {
		require.Eventually(t, func() bool { return len(w.changeEvents(u)) == 2 }, 5*time.Second, 5*time.Millisecond,
			"the retried edit was not announced; the deletion is")
		ev := w.changeEvents(u)[1]
		require.Equal(t, domain.EventMessageDeleted, ev.Name)
		d := ev.Data.(domain.MessageDeleted)
		assert.Equal(t, domain.MessageDeleted{ConversationID: m.ConversationID, MessageID: m.ID, Sequence: m.Sequence, DeletedAt: d.DeletedAt}, d)
	}
	hist := w.history(t, b, a)
	require.Len(t, hist, 1)
	assert.Empty(t, hist[0].Text)
	assert.NotNil(t, hist[0].DeletedAt)
	assert.Equal(t, int64(3), hist[0].Version)

	require.NoError(t, w.app.DeleteMessage(ctx, a, m.ID), "deleting again succeeds")
	_, err = w.app.EditMessage(ctx, a, m.ID, domain.Edit{Text: "back"})
	assert.Equal(t, domain.KindConflict, domain.KindOf(err), "a deleted message is not edited")
	unread, err := w.app.UnreadCount(ctx, b)
	require.NoError(t, err)
	assert.Zero(t, unread.Total, "the deleted message is not unread any more")
}

func TestEditAndDeleteAreRefused(t *testing.T) {
	w := newWorld(t)
	w.run(t)
	ctx := t.Context()
	a, b, c := w.user(t, "ann"), w.user(t, "ben"), w.user(t, "cat")
	w.friends(t, a, b)
	w.friends(t, a, c)
	m := w.sent(t, a, b, "mine")
	theirs := w.sent(t, b, a, "theirs")
	r, err := w.app.SendMessage(ctx, domain.Draft{SenderID: a, ReceiverID: c, Text: "pic", Type: "image"})
	require.NoError(t, err)
	require.Eventually(t, func() bool { _, err := w.store.MessageByID(ctx, r.MessageID); return err == nil }, 5*time.Second, 5*time.Millisecond)

	tests := []struct {
		name string
		by   domain.UserID
		id   domain.MessageID
		edit domain.Edit
		kind domain.Kind
	}{
		{"unknown id", a, domain.DeriveMessageID(a, "never sent"), domain.Edit{Text: "x"}, domain.KindNotFound},
		{"malformed id", a, "nope", domain.Edit{Text: "x"}, domain.KindNotFound},
		{"a message of others is not found", c, m.ID, domain.Edit{Text: "x"}, domain.KindNotFound},
		{"the receiver may not", a, theirs.ID, domain.Edit{Text: "x"}, domain.KindForbidden},
		{"only text messages", a, r.MessageID, domain.Edit{Text: "x"}, domain.KindInvalid},
		{"not empty", a, m.ID, domain.Edit{Text: " "}, domain.KindInvalid},
		{"not too large", a, m.ID, domain.Edit{Text: strings.Repeat("x", domain.MaxMessageBytes+1)}, domain.KindTooLarge},
		{"metadata an object", a, m.ID, domain.Edit{Text: "x", Metadata: json.RawMessage(`"s"`), SetMetadata: true}, domain.KindInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := w.app.EditMessage(ctx, tc.by, tc.id, tc.edit)
			assert.Equal(t, tc.kind, domain.KindOf(err), "%v", err)
		})
	}
	assert.Equal(t, domain.KindForbidden, domain.KindOf(w.app.DeleteMessage(ctx, a, theirs.ID)), "only the sender deletes")
	assert.Equal(t, domain.KindNotFound, domain.KindOf(w.app.DeleteMessage(ctx, c, m.ID)))

	w.log.setFail(domain.Errorf(domain.KindUnavailable, "broker down"))
	_, err = w.app.EditMessage(ctx, a, m.ID, domain.Edit{Text: "lost?"})
	assert.Equal(t, domain.KindUnavailable, domain.KindOf(err))
	assert.Equal(t, domain.KindUnavailable, domain.KindOf(w.app.DeleteMessage(ctx, a, m.ID)))
	w.log.setFail(nil)

	require.NoError(t, w.app.Unfriend(ctx, b, a))
	_, err = w.app.EditMessage(ctx, a, m.ID, domain.Edit{Text: "after"})
	assert.Equal(t, domain.KindForbidden, domain.KindOf(err), "no new words to a former friend")
	require.NoError(t, w.app.DeleteMessage(ctx, a, m.ID), "but one's own words may be taken back")
	require.Eventually(t, func() bool { return w.history(t, a, b)[0].DeletedAt != nil }, 5*time.Second, 5*time.Millisecond)
	assert.Equal(t, "theirs", w.history(t, a, b)[1].Text, "nothing else changed")
}

// changeRecord is a chat-messages record of c.
func changeRecord(t *testing.T, c domain.MessageChange, offset int64) ports.Record {
	t.Helper()
	v, err := json.Marshal(c)
	require.NoError(t, err)
	return ports.Record{Topic: ports.TopicChatMessages, Key: []byte(c.ConversationID), Value: v, Offset: offset}
}

func TestDeliverAppliesChangesInLogOrder(t *testing.T) {
	w := newWorld(t)
	ctx := t.Context()
	a, b := w.user(t, "ann"), w.user(t, "ben")
	m := draft(t, a, b, "one", "1")
	m.Sequence = 1
	edit := func(text string) domain.MessageChange {
		c, err := domain.NewEdit(m, a, domain.Edit{Text: text}, time.Now())
		require.NoError(t, err)
		return c
	}
	del, err := domain.NewDeletion(m, a, time.Now())
	require.NoError(t, err)
	forged := edit("not yours")
	forged.By = b
	batch := []ports.Record{
		record(t, m, 0),
		changeRecord(t, edit("two"), 1), // in the batch of the message it edits
		record(t, draft(t, b, a, "reply", "r"), 2),
		changeRecord(t, edit("three"), 3),
		changeRecord(t, forged, 4),
		{Topic: ports.TopicChatMessages, Value: []byte(`{"kind":"edit","messageId":"nope"}`), Offset: 5},
		changeRecord(t, del, 6),
	}
	rejected, err := w.app.HandleChatMessages(ctx, batch)
	require.NoError(t, err)
	require.Len(t, rejected, 1, "only the malformed change is dead-lettered; the forged one is refused by the store")
	assert.Equal(t, int64(5), rejected[0].Record.Offset)
	assert.Contains(t, rejected[0].Reason, "invalid message change")

	hist := w.history(t, a, b)
	require.Len(t, hist, 2)
	assert.NotNil(t, hist[0].DeletedAt)
	assert.Equal(t, int64(4), hist[0].Version, "two edits and the deletion, each once")
	assert.Equal(t, "reply", hist[1].Text)
	var names []string
	for _, ev := range w.notes.events[b] {
		names = append(names, ev.Name)
	}
	assert.Equal(t, []string{domain.EventNewMessage, domain.EventMessageEdited, domain.EventNewMessage, domain.EventMessageEdited, domain.EventMessageDeleted},
		names, "the events follow the log")

	// The batch again, as after a crash before the offset commit: nothing
	// changes twice, and no change is announced twice.
	_, err = w.app.HandleChatMessages(ctx, batch)
	require.NoError(t, err)
	assert.Equal(t, int64(4), w.history(t, a, b)[0].Version)
	assert.Len(t, w.changeEvents(b), 3)
	assert.Len(t, w.notes.of(b, domain.EventNewMessage), 4, "messages are announced again (I6 allows it)")
}

func TestConcurrentEditsEndWithTheLastInLogOrder(t *testing.T) {
	w := newWorld(t)
	w.run(t)
	ctx := t.Context()
	a, b := w.user(t, "ann"), w.user(t, "ben")
	w.friends(t, a, b)
	m := w.sent(t, a, b, "start")
	const edits = 10
	done := make(chan error, edits)
	for i := range edits {
		go func() {
			_, err := w.app.EditMessage(ctx, a, m.ID, domain.Edit{Text: "edit " + string(rune('a'+i))})
			done <- err
		}()
	}
	for range edits {
		require.NoError(t, <-done)
	}
	require.Eventually(t, func() bool { return len(w.changeEvents(b)) == edits }, 5*time.Second, 5*time.Millisecond)
	stored := w.history(t, a, b)[0]
	assert.Equal(t, int64(1+edits), stored.Version, "every edit applied once, in turn")
	for _, u := range []domain.UserID{a, b} {
		evs := w.changeEvents(u)
		last := evs[len(evs)-1].Data.(domain.Message)
		assert.Equal(t, stored.Text, last.Text, "the last event each device gets is the stored text")
		assert.Equal(t, stored.Version, last.Version)
		for i, ev := range evs {
			assert.Equal(t, int64(2+i), ev.Data.(domain.Message).Version, "versions rise in event order")
		}
	}
}

func TestChangedMessages(t *testing.T) {
	w := newWorld(t)
	w.run(t)
	ctx := t.Context()
	a, b, c := w.user(t, "ann"), w.user(t, "ben"), w.user(t, "cat")
	w.friends(t, a, b)
	m1 := w.sent(t, a, b, "one")
	m2 := w.sent(t, a, b, "two")
	_, err := w.app.EditMessage(ctx, a, m1.ID, domain.Edit{Text: "one!"})
	require.NoError(t, err)
	require.Eventually(t, func() bool { return len(w.changeEvents(b)) == 1 }, 5*time.Second, 5*time.Millisecond)
	got, err := w.app.ChangedMessages(ctx, b, m1.ConversationID, m2.Sequence)
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Equal(t, "one!", got[0].Text)
	_, err = w.app.ChangedMessages(ctx, c, m1.ConversationID, m2.Sequence)
	assert.Equal(t, domain.KindForbidden, domain.KindOf(err))
	none, err := w.app.ChangedMessages(ctx, b, m1.ConversationID, 0)
	require.NoError(t, err)
	assert.Empty(t, none)
}
