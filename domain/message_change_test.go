package domain_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/domain"
)

// stored is a message of bob to alice as a store returns it: sequenced, at
// version 1.
func stored(t *testing.T) domain.Message {
	t.Helper()
	m, err := domain.NewMessage(validDraft(), sendTime)
	require.NoError(t, err)
	m.Sequence = 4
	return m
}

func TestNewEdit(t *testing.T) {
	m := stored(t)
	at := sendTime.Add(time.Minute)
	image := m
	image.Type = domain.MessageImage
	deleted := m.Erased(bob, at)
	tests := []struct {
		name string
		m    domain.Message
		by   domain.UserID
		edit domain.Edit
		kind domain.Kind // KindInternal (the zero Kind): accepted
	}{
		{"the sender edits the text", m, bob, domain.Edit{Text: "hi"}, domain.KindInternal},
		{"and the metadata", m, bob, domain.Edit{Text: "hi", Metadata: json.RawMessage(` {"a": 1} `), SetMetadata: true}, domain.KindInternal},
		{"the receiver may not", m, alice, domain.Edit{Text: "hi"}, domain.KindForbidden},
		{"an outsider may not", m, carol, domain.Edit{Text: "hi"}, domain.KindForbidden},
		{"not a deleted message", deleted, bob, domain.Edit{Text: "hi"}, domain.KindConflict},
		{"only text messages", image, bob, domain.Edit{Text: "hi"}, domain.KindInvalid},
		{"not empty", m, bob, domain.Edit{Text: "  "}, domain.KindInvalid},
		{"not too large", m, bob, domain.Edit{Text: strings.Repeat("x", domain.MaxMessageBytes+1)}, domain.KindTooLarge},
		{"metadata an object", m, bob, domain.Edit{Text: "hi", Metadata: json.RawMessage(`[1]`), SetMetadata: true}, domain.KindInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := domain.NewEdit(tc.m, tc.by, tc.edit, at)
			if tc.kind != domain.KindInternal {
				requireKind(t, err, tc.kind)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, domain.ChangeEdit, c.Kind)
			assert.Equal(t, m.ID, c.MessageID)
			assert.Equal(t, m.ConversationID, c.ConversationID)
			assert.Equal(t, at.UTC(), c.At)
			assert.NoError(t, c.CheckIdentity())
			if tc.edit.SetMetadata {
				assert.Equal(t, `{"a":1}`, string(c.Metadata), "metadata compacted")
			}
		})
	}
}

func TestApplyChanges(t *testing.T) {
	m := stored(t)
	t1, t2 := sendTime.Add(time.Minute), sendTime.Add(2*time.Minute)
	edit := func(text string) domain.MessageChange {
		c, err := domain.NewEdit(m, bob, domain.Edit{Text: text}, t1)
		require.NoError(t, err)
		return c
	}

	edited, changed, err := m.Apply(edit("hi there"))
	require.NoError(t, err)
	require.True(t, changed)
	assert.Equal(t, "hi there", edited.Text)
	assert.JSONEq(t, `{"k":"v"}`, string(edited.Metadata), "an edit without metadata keeps it")
	assert.Equal(t, int64(2), edited.Version)
	require.NotNil(t, edited.EditedAt)
	assert.Equal(t, t1.UTC(), *edited.EditedAt)
	assert.Equal(t, m.Sequence, edited.Sequence)

	same, changed, err := edited.Apply(edit("hi there"))
	require.NoError(t, err)
	assert.False(t, changed, "the same content again is a retried edit")
	assert.Equal(t, edited, same)

	meta, err := domain.NewEdit(edited, bob, domain.Edit{Text: "hi there", Metadata: json.RawMessage(`null`), SetMetadata: true}, t2)
	require.NoError(t, err)
	cleared, changed, err := edited.Apply(meta)
	require.NoError(t, err)
	assert.True(t, changed, "removing the metadata is a change")
	assert.Nil(t, cleared.Metadata)
	assert.Equal(t, int64(3), cleared.Version)

	reformatted := edited
	reformatted.Metadata = json.RawMessage(`{ "k" : "v" }`)
	sameMeta, err := domain.NewEdit(reformatted, bob, domain.Edit{Text: "hi there", Metadata: json.RawMessage(`{"k":"v"}`), SetMetadata: true}, t2)
	require.NoError(t, err)
	_, changed, err = reformatted.Apply(sameMeta)
	require.NoError(t, err)
	assert.False(t, changed, "metadata is compared as JSON")

	del, err := domain.NewDeletion(edited, bob, t2)
	require.NoError(t, err)
	tomb, changed, err := edited.Apply(del)
	require.NoError(t, err)
	require.True(t, changed)
	assert.Empty(t, tomb.Text)
	assert.Nil(t, tomb.Metadata)
	require.NotNil(t, tomb.DeletedAt)
	assert.Equal(t, t2.UTC(), *tomb.DeletedAt)
	assert.Equal(t, bob, tomb.DeletedBy)
	assert.Equal(t, int64(3), tomb.Version)

	again, changed, err := tomb.Apply(del)
	require.NoError(t, err)
	assert.False(t, changed, "deleting twice changes nothing")
	assert.Equal(t, tomb, again)
	_, _, err = tomb.Apply(edit("back"))
	requireKind(t, err, domain.KindConflict)

	forged := edit("x")
	forged.By = alice
	_, _, err = m.Apply(forged)
	requireKind(t, err, domain.KindForbidden)
	other := edit("x")
	other.MessageID = domain.DeriveMessageID(bob, "another")
	_, _, err = m.Apply(other)
	requireKind(t, err, domain.KindInvalid)
	_, err = domain.NewDeletion(m, alice, t1)
	requireKind(t, err, domain.KindForbidden)
}

func TestMessageChangeFromTheLog(t *testing.T) {
	m := stored(t)
	c, err := domain.NewEdit(m, bob, domain.Edit{Text: "hi", Metadata: json.RawMessage(`{"a":1}`), SetMetadata: true}, sendTime)
	require.NoError(t, err)
	raw, err := json.Marshal(c)
	require.NoError(t, err)
	var back domain.MessageChange
	require.NoError(t, json.Unmarshal(raw, &back))
	assert.Equal(t, c.At, back.At.UTC())
	back.At = c.At
	assert.Equal(t, c, back)
	assert.NoError(t, back.CheckIdentity())

	for name, mutate := range map[string]func(*domain.MessageChange){
		"unknown kind":         func(c *domain.MessageChange) { c.Kind = "undo" },
		"message id":           func(c *domain.MessageChange) { c.MessageID = "nope" },
		"conversation id":      func(c *domain.MessageChange) { c.ConversationID = "nope" },
		"author outside it":    func(c *domain.MessageChange) { c.By = carol },
		"no time":              func(c *domain.MessageChange) { c.At = time.Time{} },
		"non-canonical author": func(c *domain.MessageChange) { c.By = domain.UserID(strings.ReplaceAll(string(c.By), "-", "")) },
	} {
		bad := c
		mutate(&bad)
		assert.Error(t, bad.CheckIdentity(), name)
	}
}

func TestChangeEvent(t *testing.T) {
	m := stored(t)
	ev := domain.ChangeEvent(m)
	assert.Equal(t, domain.EventMessageEdited, ev.Name)
	assert.Equal(t, m, ev.Data)

	at := sendTime.Add(time.Hour)
	tomb := m.Erased(bob, at)
	ev = domain.ChangeEvent(tomb)
	assert.Equal(t, domain.EventMessageDeleted, ev.Name)
	raw, err := json.Marshal(ev.Data)
	require.NoError(t, err)
	assert.JSONEq(t, `{"conversationId":"`+string(m.ConversationID)+`","messageId":"`+string(m.ID)+
		`","sequenceId":4,"deletedAt":"`+at.UTC().Format(time.RFC3339Nano)+`"}`, string(raw))
}
