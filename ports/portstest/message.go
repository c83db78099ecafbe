package portstest

import (
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
)

// MessageStores are the message-side stores of one backend, over the same data.
// Messages refer to users created in Users.
type MessageStores struct {
	Users    ports.UserStore
	Messages ports.MessageStore
	Receipts ports.ReceiptStore
	Inbox    ports.InboxStore
}

// chat is a fixture: stores and helpers to build and append messages.
type chat struct {
	MessageStores
	t      *testing.T
	offset int64 // next fake log offset
}

func newChat(t *testing.T, newStores func(t *testing.T) MessageStores) *chat {
	t.Helper()
	return &chat{MessageStores: newStores(t), t: t}
}

// users creates n fresh users.
func (c *chat) users(n int) []domain.User {
	c.t.Helper()
	us := make([]domain.User, n)
	for i := range us {
		us[i] = createUser(c.t, c.Users, userSpec{})
	}
	return us
}

// msg builds a valid message from one user to another, sent at at(sec).
func (c *chat) msg(from, to domain.User, text string, sec int) domain.Message {
	c.t.Helper()
	m, err := domain.NewMessage(domain.Draft{SenderID: from.ID, ReceiverID: to.ID, Text: text, ClientMessageID: "c-" + token(16)}, at(sec))
	require.NoError(c.t, err)
	return m
}

// appends wraps messages with increasing fake log positions.
func (c *chat) appends(msgs ...domain.Message) []ports.Append {
	as := make([]ports.Append, len(msgs))
	for i, m := range msgs {
		c.offset++
		as[i] = ports.Append{Message: m, Position: ports.LogPosition{Partition: 3, Offset: c.offset}}
	}
	return as
}

// append stores msgs as one batch and checks the result's shape.
func (c *chat) append(msgs ...domain.Message) []ports.Appended {
	c.t.Helper()
	got, err := c.Messages.AppendBatch(c.t.Context(), c.appends(msgs...))
	require.NoError(c.t, err)
	require.Len(c.t, got, len(msgs), "one result per input")
	return got
}

// history reads a whole conversation (up to MaxPageLimit messages).
func (c *chat) history(conv domain.ConversationID) []domain.Message {
	c.t.Helper()
	got, _, err := c.Messages.History(c.t.Context(), conv, domain.Page{Limit: domain.MaxPageLimit})
	require.NoError(c.t, err)
	return got
}

func conversation(t *testing.T, a, b domain.User) domain.ConversationID {
	t.Helper()
	id, err := domain.NewConversationID(a.ID, b.ID)
	require.NoError(t, err)
	return id
}

// assertMessage checks every field of a stored message but the receipts.
func assertMessage(t *testing.T, want, got domain.Message, msgAndArgs ...any) {
	t.Helper()
	assert.Equal(t, want.ID, got.ID, msgAndArgs...)
	assert.Equal(t, want.ClientMessageID, got.ClientMessageID, msgAndArgs...)
	assert.Equal(t, want.ConversationID, got.ConversationID, msgAndArgs...)
	assert.Equal(t, want.Sequence, got.Sequence, msgAndArgs...)
	assert.Equal(t, want.SenderID, got.SenderID, msgAndArgs...)
	assert.Equal(t, want.ReceiverID, got.ReceiverID, msgAndArgs...)
	assert.Equal(t, want.Text, got.Text, msgAndArgs...)
	assert.Equal(t, want.Type, got.Type, msgAndArgs...)
	assertJSON(t, want.Metadata, got.Metadata, msgAndArgs...)
	assertTime(t, want.SentAt, got.SentAt, msgAndArgs...)
}

func sequenced(m domain.Message, seq domain.Sequence) domain.Message {
	m.Sequence = seq
	return m
}

// sequences lists the sequences of msgs; nil when there are none.
func sequences(msgs []domain.Message) []domain.Sequence {
	var seqs []domain.Sequence
	for _, m := range msgs {
		seqs = append(seqs, m.Sequence)
	}
	return seqs
}

func seqRange(from, to int) []domain.Sequence {
	var s []domain.Sequence
	for i := from; i <= to; i++ {
		s = append(s, domain.Sequence(i))
	}
	return s
}

// RunMessageStore runs the contracts of ports.MessageStore (edits and
// deletions included), ports.ReceiptStore and ports.InboxStore.
func RunMessageStore(t *testing.T, newStores func(t *testing.T) MessageStores) {
	t.Run("AppendBatch", func(t *testing.T) { runAppendBatch(t, newStores) })
	t.Run("History", func(t *testing.T) { runHistory(t, newStores) })
	t.Run("Receipts", func(t *testing.T) { runReceipts(t, newStores) })
	t.Run("UnreadCounts", func(t *testing.T) { runUnreadCounts(t, newStores) })
	t.Run("Conversations", func(t *testing.T) { runConversations(t, newStores) })
	t.Run("Changes", func(t *testing.T) { runMessageChanges(t, newStores) })
}

func runAppendBatch(t *testing.T, newStores func(t *testing.T) MessageStores) {
	t.Run("sequences run 1..n per conversation in batch order", func(t *testing.T) {
		c := newChat(t, newStores)
		u := c.users(3)
		a, b, x := u[0], u[1], u[2]
		withMeta, err := domain.NewMessage(domain.Draft{SenderID: a.ID, ReceiverID: x.ID, Text: "look", Type: "image",
			Metadata: json.RawMessage(`{ "url": "https://example.com/i.png", "w": 640 }`), ClientMessageID: "c-" + token(16)}, at(2))
		require.NoError(t, err)
		first := []domain.Message{c.msg(a, b, "ab1", 1), withMeta, c.msg(b, a, "ab2", 3), c.msg(x, a, "ax2", 4), c.msg(a, b, "ab3", 5)}
		wantSeq := []domain.Sequence{1, 1, 2, 2, 3}
		got := c.append(first...)
		for i, r := range got {
			assert.False(t, r.Duplicate, "message %d", i)
			assertMessage(t, sequenced(first[i], wantSeq[i]), r.Message, "result %d", i)
		}
		second := []domain.Message{c.msg(x, a, "ax3", 6), c.msg(a, b, "ab4", 7)}
		got = c.append(second...)
		assert.Equal(t, domain.Sequence(3), got[0].Message.Sequence)
		assert.Equal(t, domain.Sequence(4), got[1].Message.Sequence)

		ab := c.history(conversation(t, a, b))
		require.Len(t, ab, 4)
		for i, want := range []domain.Message{first[0], first[2], first[4], second[1]} {
			assertMessage(t, sequenced(want, domain.Sequence(i+1)), ab[i], "history a-b %d", i)
			assert.Nil(t, ab[i].DeliveredAt)
			assert.Nil(t, ab[i].ReadAt)
		}
		ax := c.history(conversation(t, a, x))
		require.Len(t, ax, 3)
		for i, want := range []domain.Message{withMeta, first[3], second[0]} {
			assertMessage(t, sequenced(want, domain.Sequence(i+1)), ax[i], "history a-x %d", i)
		}
	})

	t.Run("an empty batch stores nothing", func(t *testing.T) {
		c := newChat(t, newStores)
		got, err := c.Messages.AppendBatch(t.Context(), nil)
		require.NoError(t, err)
		assert.Empty(t, got)
	})

	t.Run("a message stored by an earlier batch is a duplicate with its original sequence", func(t *testing.T) {
		c := newChat(t, newStores)
		u := c.users(2)
		m1, m2 := c.msg(u[0], u[1], "one", 1), c.msg(u[1], u[0], "two", 2)
		c.append(m1, m2)
		retry := m1
		retry.Text, retry.SentAt = "one, sent again", at(50) // what a confused client might resend
		m3 := c.msg(u[0], u[1], "three", 3)
		got := c.append(retry, m3)
		assert.True(t, got[0].Duplicate, "retry is a duplicate")
		assertMessage(t, sequenced(m1, 1), got[0].Message, "the stored row is returned")
		assert.False(t, got[1].Duplicate)
		assert.Equal(t, domain.Sequence(3), got[1].Message.Sequence, "the duplicate consumed no sequence")
		assert.Equal(t, seqRange(1, 3), sequences(c.history(m1.ConversationID)))
	})

	t.Run("a duplicate within one batch consumes no sequence", func(t *testing.T) {
		c := newChat(t, newStores)
		u := c.users(2)
		m1, m2, m3 := c.msg(u[0], u[1], "one", 1), c.msg(u[1], u[0], "two", 2), c.msg(u[0], u[1], "three", 3)
		got := c.append(m1, m2, m1, m3, m2)
		wantSeq := []domain.Sequence{1, 2, 1, 3, 2}
		wantDup := []bool{false, false, true, false, true}
		for i := range got {
			assert.Equal(t, wantSeq[i], got[i].Message.Sequence, "result %d", i)
			assert.Equal(t, wantDup[i], got[i].Duplicate, "result %d", i)
		}
		assert.Equal(t, m1.ID, got[2].Message.ID)
		assert.Equal(t, seqRange(1, 3), sequences(c.history(m1.ConversationID)))
	})

	t.Run("the same clientMessageId from two senders is two messages", func(t *testing.T) {
		c := newChat(t, newStores)
		u := c.users(2)
		m1, err := domain.NewMessage(domain.Draft{SenderID: u[0].ID, ReceiverID: u[1].ID, Text: "hi", ClientMessageID: "shared-id"}, at(1))
		require.NoError(t, err)
		m2, err := domain.NewMessage(domain.Draft{SenderID: u[1].ID, ReceiverID: u[0].ID, Text: "hi", ClientMessageID: "shared-id"}, at(2))
		require.NoError(t, err)
		got := c.append(m1, m2)
		assert.False(t, got[0].Duplicate)
		assert.False(t, got[1].Duplicate)
		assert.Equal(t, seqRange(1, 2), sequences(c.history(m1.ConversationID)))
	})

	// Messages come validated (ports.Append); a store refuses only what it
	// cannot keep, which for every store includes an id that is not a UUID.
	t.Run("a batch with a message the store cannot keep fails and stores nothing", func(t *testing.T) {
		c := newChat(t, newStores)
		u := c.users(2)
		good := c.msg(u[0], u[1], "good", 1)
		bad := c.msg(u[1], u[0], "its id is not a UUID", 2)
		bad.ID = "not-a-uuid"
		_, err := c.Messages.AppendBatch(t.Context(), c.appends(good, bad))
		errorKind(t, domain.KindInvalid, err)
		assert.Empty(t, c.history(good.ConversationID), "nothing of the batch is stored")

		got := c.append(good)
		assert.False(t, got[0].Duplicate, "the good message was not stored before")
		assert.Equal(t, domain.Sequence(1), got[0].Message.Sequence, "the failed batch consumed no sequence")
	})

	t.Run("concurrent appends to one conversation get unique contiguous sequences", func(t *testing.T) {
		c := newChat(t, newStores)
		u := c.users(3)
		const workers, batches, size = 6, 8, 5
		total := workers * batches * size
		type batchResult struct {
			in  []domain.Message
			out []ports.Appended
			err error
		}
		results := make([][]batchResult, workers)
		var wg sync.WaitGroup
		for w := range workers {
			// Each worker builds its batches first: the fixture is not for concurrent use.
			ins := make([][]ports.Append, batches)
			msgs := make([][]domain.Message, batches)
			for bi := range ins {
				for i := range size {
					from, to := u[0], u[1]
					if (w+bi+i)%2 == 1 {
						from, to = to, from
					}
					msgs[bi] = append(msgs[bi], c.msg(from, to, fmt.Sprintf("w%d b%d m%d", w, bi, i), w*100+bi*10+i))
					if i == 2 { // and one message of another conversation in the same batch
						msgs[bi] = append(msgs[bi], c.msg(u[2], u[w%2], fmt.Sprintf("side w%d b%d", w, bi), 1))
					}
				}
				ins[bi] = c.appends(msgs[bi]...)
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				for bi := range ins {
					out, err := c.Messages.AppendBatch(t.Context(), ins[bi])
					results[w] = append(results[w], batchResult{msgs[bi], out, err})
				}
			}()
		}
		wg.Wait()

		conv := conversation(t, u[0], u[1])
		var seqs []domain.Sequence
		byID := map[domain.MessageID]domain.Sequence{}
		for w, rs := range results {
			for bi, r := range rs {
				require.NoError(t, r.err, "worker %d batch %d", w, bi)
				require.Len(t, r.out, len(r.in))
				var last domain.Sequence
				for i, a := range r.out {
					assert.False(t, a.Duplicate)
					assert.Equal(t, r.in[i].ID, a.Message.ID, "results in input order")
					if a.Message.ConversationID != conv {
						continue
					}
					assert.Greater(t, a.Message.Sequence, last, "batch order within a batch")
					last = a.Message.Sequence
					seqs = append(seqs, a.Message.Sequence)
					byID[a.Message.ID] = a.Message.Sequence
				}
			}
		}
		slices.Sort(seqs)
		assert.Equal(t, seqRange(1, total), seqs, "unique and contiguous 1..%d", total)

		// Read it all back, older pages first (After 0 would mean "newest").
		var stored []domain.Message
		for before := domain.Sequence(0); ; {
			page, more, err := c.Messages.History(t.Context(), conv, domain.Page{Before: before, Limit: domain.MaxPageLimit})
			require.NoError(t, err)
			stored = append(slices.Clone(page), stored...)
			if !more || len(page) == 0 {
				break
			}
			before = page[0].Sequence
		}
		assert.Equal(t, seqRange(1, total), sequences(stored))
		for _, m := range stored {
			assert.Equal(t, byID[m.ID], m.Sequence, "stored sequence of %s is the one returned", m.ID)
		}
		side := c.history(conversation(t, u[2], u[0]))
		assert.Equal(t, seqRange(1, len(side)), sequences(side), "the other conversation is contiguous too")
	})

	t.Run("the same message appended concurrently is stored once", func(t *testing.T) {
		c := newChat(t, newStores)
		u := c.users(2)
		m := c.msg(u[0], u[1], "once", 1)
		const workers = 10
		batches := make([][]ports.Append, workers)
		for w := range batches {
			batches[w] = c.appends(m)
		}
		results := make([][]ports.Appended, workers)
		errs := make([]error, workers)
		var wg sync.WaitGroup
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[w], errs[w] = c.Messages.AppendBatch(t.Context(), batches[w])
			}()
		}
		wg.Wait()
		fresh := 0
		for w := range workers {
			require.NoError(t, errs[w], "worker %d", w)
			require.Len(t, results[w], 1)
			if !results[w][0].Duplicate {
				fresh++
			}
			assertMessage(t, sequenced(m, 1), results[w][0].Message, "worker %d", w)
		}
		assert.Equal(t, 1, fresh, "exactly one append stores it")
		assert.Equal(t, seqRange(1, 1), sequences(c.history(m.ConversationID)))
	})
}

func runHistory(t *testing.T, newStores func(t *testing.T) MessageStores) {
	c := newChat(t, newStores)
	u := c.users(2)
	var msgs []domain.Message
	for i := range 10 {
		from, to := u[0], u[1]
		if i%3 == 2 {
			from, to = to, from
		}
		msgs = append(msgs, c.msg(from, to, fmt.Sprintf("m%d", i+1), i+1))
	}
	c.append(msgs[:4]...)
	c.append(msgs[4:]...)
	conv := msgs[0].ConversationID

	cases := []struct {
		name      string
		page      domain.Page
		want      []domain.Sequence
		more      bool
		checkMore bool // false where the contract leaves hasMore open
	}{
		{"newest page", domain.Page{Limit: 3}, seqRange(8, 10), true, true},
		{"newest page holding everything", domain.Page{Limit: 10}, seqRange(1, 10), false, true},
		{"newest page larger than the conversation", domain.Page{Limit: 50}, seqRange(1, 10), false, true},
		{"before", domain.Page{Before: 6, Limit: 2}, seqRange(4, 5), true, true},
		{"before reaching the start", domain.Page{Before: 3, Limit: 5}, seqRange(1, 2), false, true},
		{"before exactly the rest", domain.Page{Before: 4, Limit: 3}, seqRange(1, 3), false, true},
		{"before beyond the end", domain.Page{Before: 100, Limit: 2}, seqRange(9, 10), true, true},
		{"before 1 is empty", domain.Page{Before: 1, Limit: 5}, nil, false, true},
		{"after", domain.Page{After: 3, Limit: 4}, seqRange(4, 7), true, true},
		{"after reaching the end", domain.Page{After: 7, Limit: 5}, seqRange(8, 10), false, true},
		{"after exactly the rest", domain.Page{After: 7, Limit: 3}, seqRange(8, 10), false, true},
		{"after the end is empty", domain.Page{After: 10, Limit: 5}, nil, false, true},
		{"after and before, page inside the range", domain.Page{After: 2, Before: 9, Limit: 3}, seqRange(3, 5), true, true},
		{"after and before, range smaller than the limit", domain.Page{After: 2, Before: 6, Limit: 10}, seqRange(3, 5), false, false},
		// After 0 is a cursor like any other: the oldest page, not the newest.
		{"after 0", domain.PageAfter(0, 3), seqRange(1, 3), true, true},
		{"after 0 holding everything", domain.PageAfter(0, 10), seqRange(1, 10), false, true},
		{"after 0 and before", domain.Page{HasAfter: true, Before: 9, Limit: 3}, seqRange(1, 3), true, true},
		{"after 0 and before 1 is empty", domain.Page{HasAfter: true, Before: 1, Limit: 3}, nil, false, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			page, err := tc.page.Normalize()
			require.NoError(t, err)
			got, more, err := c.Messages.History(t.Context(), conv, page)
			require.NoError(t, err)
			assert.Equal(t, tc.want, sequences(got), "ascending sequences")
			if tc.checkMore {
				assert.Equal(t, tc.more, more, "hasMore")
			}
			for _, m := range got {
				assertMessage(t, sequenced(msgs[m.Sequence-1], m.Sequence), m)
			}
		})
	}
	t.Run("default limit", func(t *testing.T) {
		page, err := domain.Page{}.Normalize()
		require.NoError(t, err)
		got, more, err := c.Messages.History(t.Context(), conv, page)
		require.NoError(t, err)
		assert.Equal(t, seqRange(1, 10), sequences(got))
		assert.False(t, more)
	})
	t.Run("unknown conversation is empty", func(t *testing.T) {
		other, err := domain.NewConversationID(domain.NewUserID(), domain.NewUserID())
		require.NoError(t, err)
		got, more, err := c.Messages.History(t.Context(), other, domain.Page{Limit: 10})
		require.NoError(t, err)
		assert.Empty(t, got)
		assert.False(t, more)
	})
}

func runReceipts(t *testing.T, newStores func(t *testing.T) MessageStores) {
	type mark = func(c *chat, conv domain.ConversationID, u domain.UserID, upTo domain.Sequence, at time.Time) (domain.Sequence, bool, error)
	markRead := func(c *chat, conv domain.ConversationID, u domain.UserID, upTo domain.Sequence, at time.Time) (domain.Sequence, bool, error) {
		return c.Receipts.MarkRead(c.t.Context(), conv, u, upTo, at)
	}
	markDelivered := func(c *chat, conv domain.ConversationID, u domain.UserID, upTo domain.Sequence, at time.Time) (domain.Sequence, bool, error) {
		return c.Receipts.MarkDelivered(c.t.Context(), conv, u, upTo, at)
	}
	readAt := func(m domain.Message) *time.Time { return m.ReadAt }
	deliveredAt := func(m domain.Message) *time.Time { return m.DeliveredAt }

	// setup stores a conversation of a and b: sequences 1, 2, 4, 5 from a to b, 3 and 6 from b to a.
	setup := func(t *testing.T) (*chat, domain.User, domain.User, domain.ConversationID) {
		c := newChat(t, newStores)
		u := c.users(2)
		a, b := u[0], u[1]
		c.append(c.msg(a, b, "1", 1), c.msg(a, b, "2", 2), c.msg(b, a, "3", 3), c.msg(a, b, "4", 4), c.msg(a, b, "5", 5), c.msg(b, a, "6", 6))
		return c, a, b, conversation(t, a, b)
	}
	// stamped lists the sequences whose field is set, and checks it is want.
	stamped := func(t *testing.T, c *chat, conv domain.ConversationID, field func(domain.Message) *time.Time, want time.Time) []domain.Sequence {
		t.Helper()
		var seqs []domain.Sequence
		for _, m := range c.history(conv) {
			if ts := field(m); ts != nil {
				seqs = append(seqs, m.Sequence)
				assertTime(t, want, *ts, "sequence %d", m.Sequence)
			}
		}
		return seqs
	}

	for _, kind := range []struct {
		name  string
		mark  mark
		field func(domain.Message) *time.Time
	}{
		{"MarkRead", markRead, readAt},
		{"MarkDelivered", markDelivered, deliveredAt},
	} {
		t.Run(kind.name, func(t *testing.T) {
			t.Run("stamps the messages the member received up to the watermark", func(t *testing.T) {
				c, _, b, conv := setup(t)
				wm, advanced, err := kind.mark(c, conv, b.ID, 4, at(100))
				require.NoError(t, err)
				assert.Equal(t, domain.Sequence(4), wm)
				assert.True(t, advanced)
				assert.Equal(t, []domain.Sequence{1, 2, 4}, stamped(t, c, conv, kind.field, at(100)),
					"b received 1, 2, 4 (3 is b's own, 5 is above the watermark)")
			})
			t.Run("never moves back", func(t *testing.T) {
				c, _, b, conv := setup(t)
				_, _, err := kind.mark(c, conv, b.ID, 4, at(100))
				require.NoError(t, err)
				for _, upTo := range []domain.Sequence{2, 4, 0} {
					wm, advanced, err := kind.mark(c, conv, b.ID, upTo, at(200))
					require.NoError(t, err)
					assert.Equal(t, domain.Sequence(4), wm, "upTo %d", upTo)
					assert.False(t, advanced, "upTo %d", upTo)
				}
				assert.Equal(t, []domain.Sequence{1, 2, 4}, stamped(t, c, conv, kind.field, at(100)), "nothing restamped")
			})
			t.Run("advancing keeps earlier stamps", func(t *testing.T) {
				c, _, b, conv := setup(t)
				_, _, err := kind.mark(c, conv, b.ID, 2, at(100))
				require.NoError(t, err)
				wm, advanced, err := kind.mark(c, conv, b.ID, 5, at(200))
				require.NoError(t, err)
				assert.Equal(t, domain.Sequence(5), wm)
				assert.True(t, advanced)
				ms := c.history(conv)
				assertTimePtr(t, ptr(at(100)), kind.field(ms[0]), "sequence 1")
				assertTimePtr(t, ptr(at(100)), kind.field(ms[1]), "sequence 2")
				assertTimePtr(t, ptr(at(200)), kind.field(ms[3]), "sequence 4")
				assertTimePtr(t, ptr(at(200)), kind.field(ms[4]), "sequence 5")
			})
			t.Run("clamps to the last sequence", func(t *testing.T) {
				c, a, b, conv := setup(t)
				wm, advanced, err := kind.mark(c, conv, a.ID, 100, at(100))
				require.NoError(t, err)
				assert.Equal(t, domain.Sequence(6), wm)
				assert.True(t, advanced)
				assert.Equal(t, []domain.Sequence{3, 6}, stamped(t, c, conv, kind.field, at(100)), "a received 3 and 6")

				wm, advanced, err = kind.mark(c, conv, a.ID, 100, at(200))
				require.NoError(t, err)
				assert.Equal(t, domain.Sequence(6), wm, "idempotent")
				assert.False(t, advanced)

				// A new message lies above the clamped watermark and can be marked.
				c.append(c.msg(b, a, "7", 7))
				wm, advanced, err = kind.mark(c, conv, a.ID, 100, at(300))
				require.NoError(t, err)
				assert.Equal(t, domain.Sequence(7), wm)
				assert.True(t, advanced)
			})
			t.Run("concurrent marks never move the watermark back", func(t *testing.T) {
				c, _, b, conv := setup(t)
				var wg sync.WaitGroup
				type result struct {
					wm       domain.Sequence
					advanced bool
					err      error
				}
				results := make([]result, 12)
				for i := range results {
					wg.Add(1)
					go func() {
						defer wg.Done()
						upTo := domain.Sequence(i%6 + 1)
						wm, advanced, err := kind.mark(c, conv, b.ID, upTo, at(100+i))
						results[i] = result{wm, advanced, err}
					}()
				}
				wg.Wait()
				advances := 0
				for i, r := range results {
					require.NoError(t, r.err)
					assert.GreaterOrEqual(t, r.wm, domain.Sequence(i%6+1), "mark %d returns a watermark at least its own", i)
					if r.advanced {
						advances++
					}
				}
				assert.GreaterOrEqual(t, advances, 1)
				assert.LessOrEqual(t, advances, 6, "each advance moves to a higher sequence")
				wm, advanced, err := kind.mark(c, conv, b.ID, 0, at(300))
				require.NoError(t, err)
				assert.Equal(t, domain.Sequence(6), wm)
				assert.False(t, advanced)
				for _, m := range c.history(conv) {
					if m.ReceiverID == b.ID {
						assert.NotNil(t, kind.field(m), "sequence %d stamped", m.Sequence)
					}
				}
			})
			t.Run("members have their own watermarks", func(t *testing.T) {
				c, a, b, conv := setup(t)
				_, _, err := kind.mark(c, conv, b.ID, 5, at(100))
				require.NoError(t, err)
				wm, advanced, err := kind.mark(c, conv, a.ID, 3, at(200))
				require.NoError(t, err)
				assert.Equal(t, domain.Sequence(3), wm, "a's watermark starts from zero")
				assert.True(t, advanced)
				ms := c.history(conv)
				assertTimePtr(t, ptr(at(200)), kind.field(ms[2]), "sequence 3, received by a")
				assertTimePtr(t, ptr(at(100)), kind.field(ms[4]), "sequence 5, received by b")
				assertTimePtr(t, nil, kind.field(ms[5]), "sequence 6, received by a above a's watermark")
			})
		})
	}

	t.Run("MarkRead stamps deliveredAt where unset and keeps it where set", func(t *testing.T) {
		c, _, b, conv := setup(t)
		_, _, err := c.Receipts.MarkDelivered(t.Context(), conv, b.ID, 2, at(100))
		require.NoError(t, err)
		_, _, err = c.Receipts.MarkRead(t.Context(), conv, b.ID, 4, at(200))
		require.NoError(t, err)
		ms := c.history(conv)
		assertTimePtr(t, ptr(at(100)), ms[0].DeliveredAt, "sequence 1")
		assertTimePtr(t, ptr(at(100)), ms[1].DeliveredAt, "sequence 2")
		assertTimePtr(t, ptr(at(200)), ms[3].DeliveredAt, "sequence 4")
		assertTimePtr(t, nil, ms[4].DeliveredAt, "sequence 5")
		assertTimePtr(t, nil, ms[2].DeliveredAt, "sequence 3 is b's own")
	})

	t.Run("MarkRead moves the delivered watermark too: read implies delivered", func(t *testing.T) {
		c, _, b, conv := setup(t)
		_, _, err := c.Receipts.MarkRead(t.Context(), conv, b.ID, 4, at(100))
		require.NoError(t, err)
		got, advanced, err := c.Receipts.MarkDelivered(t.Context(), conv, b.ID, 3, at(200))
		require.NoError(t, err)
		assert.Equal(t, domain.Sequence(4), got)
		assert.False(t, advanced, "nothing read is delivered again")
		got, advanced, err = c.Receipts.MarkDelivered(t.Context(), conv, b.ID, 5, at(300))
		require.NoError(t, err)
		assert.Equal(t, domain.Sequence(5), got)
		assert.True(t, advanced)
	})

	t.Run("MarkDelivered does not stamp readAt", func(t *testing.T) {
		c, _, b, conv := setup(t)
		_, _, err := c.Receipts.MarkDelivered(t.Context(), conv, b.ID, 5, at(100))
		require.NoError(t, err)
		for _, m := range c.history(conv) {
			assert.Nil(t, m.ReadAt, "sequence %d", m.Sequence)
		}
	})
}

func ptr[T any](v T) *T { return &v }

func runUnreadCounts(t *testing.T, newStores func(t *testing.T) MessageStores) {
	t.Run("a user without messages has none and a non-nil map", func(t *testing.T) {
		c := newChat(t, newStores)
		u := c.users(1)
		got, err := c.Inbox.UnreadCounts(t.Context(), u[0].ID)
		require.NoError(t, err)
		assert.Equal(t, int64(0), got.Total)
		assert.NotNil(t, got.ByConversation)
		assert.Empty(t, got.ByConversation)
	})

	t.Run("counts received messages above the read watermark per conversation", func(t *testing.T) {
		c := newChat(t, newStores)
		u := c.users(4)
		me, a, b, quiet := u[0], u[1], u[2], u[3]
		c.append(c.msg(a, me, "a1", 1), c.msg(me, a, "mine", 2), c.msg(a, me, "a2", 3), c.msg(b, me, "b1", 4))
		c.append(c.msg(a, me, "a3", 5), c.msg(me, b, "mine too", 6), c.msg(me, quiet, "only mine", 7))
		convA, convB, convQ := conversation(t, me, a), conversation(t, me, b), conversation(t, me, quiet)

		check := func(t *testing.T, user domain.UserID, want map[domain.ConversationID]int64) {
			t.Helper()
			got, err := c.Inbox.UnreadCounts(t.Context(), user)
			require.NoError(t, err)
			var total int64
			for _, n := range want {
				total += n
			}
			assert.Equal(t, total, got.Total, "total")
			assert.Equal(t, want, got.ByConversation, "per conversation; conversations without unread messages omitted")
		}
		check(t, me.ID, map[domain.ConversationID]int64{convA: 3, convB: 1})
		check(t, a.ID, map[domain.ConversationID]int64{convA: 1})
		check(t, quiet.ID, map[domain.ConversationID]int64{convQ: 1})

		_, _, err := c.Receipts.MarkDelivered(t.Context(), convA, me.ID, 5, at(10))
		require.NoError(t, err)
		check(t, me.ID, map[domain.ConversationID]int64{convA: 3, convB: 1}) // delivered is not read

		_, _, err = c.Receipts.MarkRead(t.Context(), convA, me.ID, 3, at(11))
		require.NoError(t, err)
		check(t, me.ID, map[domain.ConversationID]int64{convA: 1, convB: 1})

		_, _, err = c.Receipts.MarkRead(t.Context(), convB, me.ID, 4, at(12))
		require.NoError(t, err)
		check(t, me.ID, map[domain.ConversationID]int64{convA: 1})
		check(t, b.ID, map[domain.ConversationID]int64{convB: 1}) // b's count is b's

		c.append(c.msg(b, me, "b2", 13))
		check(t, me.ID, map[domain.ConversationID]int64{convA: 1, convB: 1})
	})
}

func runConversations(t *testing.T, newStores func(t *testing.T) MessageStores) {
	t.Run("newest first with the peer, the last message and the unread count", func(t *testing.T) {
		c := newChat(t, newStores)
		u := c.users(5)
		me, a, b, d, stranger := u[0], u[1], u[2], u[3], u[4]
		// Last messages: with a at 30 (a's), with b at 50 (mine), with d at 40 (d's).
		c.append(c.msg(a, me, "a1", 10), c.msg(b, me, "b1", 11), c.msg(me, d, "d1", 12))
		c.append(c.msg(me, a, "a2", 20), c.msg(a, me, "a3", 30), c.msg(d, me, "d2", 40))
		lastB := c.msg(me, b, "b2", 50)
		c.append(lastB)
		c.append(c.msg(stranger, a, "not mine", 60))
		_, _, err := c.Receipts.MarkRead(t.Context(), conversation(t, me, a), me.ID, 1, at(70))
		require.NoError(t, err)

		got, err := c.Inbox.Conversations(t.Context(), me.ID, 10)
		require.NoError(t, err)
		require.Len(t, got, 3, "only my conversations")
		want := []struct {
			peer   domain.User
			last   string
			seq    domain.Sequence
			unread int64
		}{{b, "b2", 2, 1}, {d, "d2", 2, 1}, {a, "a3", 3, 1}}
		for i, w := range want {
			assert.Equal(t, conversation(t, me, w.peer), got[i].ConversationID, "row %d", i)
			assertSameUser(t, w.peer, got[i].Peer, "row %d peer", i)
			assert.Equal(t, w.last, got[i].LastMessage.Text, "row %d last message", i)
			assert.Equal(t, w.seq, got[i].LastMessage.Sequence, "row %d last message", i)
			assert.Equal(t, w.unread, got[i].UnreadCount, "row %d unread", i)
		}
		assertMessage(t, sequenced(lastB, 2), got[0].LastMessage)

		limited, err := c.Inbox.Conversations(t.Context(), me.ID, 2)
		require.NoError(t, err)
		require.Len(t, limited, 2)
		assert.Equal(t, got[0].ConversationID, limited[0].ConversationID)
		assert.Equal(t, got[1].ConversationID, limited[1].ConversationID)

		theirs, err := c.Inbox.Conversations(t.Context(), a.ID, 10)
		require.NoError(t, err)
		require.Len(t, theirs, 2)
		assertSameUser(t, stranger, theirs[0].Peer)
		assertSameUser(t, me, theirs[1].Peer)
		assert.Equal(t, int64(1), theirs[1].UnreadCount, "a received a2 from me and read nothing")
	})

	t.Run("a user without messages has no conversations", func(t *testing.T) {
		c := newChat(t, newStores)
		u := c.users(1)
		got, err := c.Inbox.Conversations(t.Context(), u[0].ID, 10)
		require.NoError(t, err)
		assert.Empty(t, got)
	})
}
