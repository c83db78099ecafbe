package server_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/client"
	"github.com/messenger-go/messenger/domain"
)

// sendOverSocket writes a send event on u's socket.
func (u *user) sendOverSocket(t *testing.T, to *user, text, clientMessageID string) {
	t.Helper()
	require.NoError(t, u.conn.Send(context.Background(), domain.EventSend,
		client.SendRequest{ReceiverID: to.id, Message: text, ClientMessageID: clientMessageID}))
}

// sendResult waits for the sendResult of clientMessageID on u's socket.
func (u *user) sendResult(t *testing.T, clientMessageID string) client.SendReceipt {
	t.Helper()
	for {
		var r client.SendReceipt
		require.NoError(t, u.expect(t, domain.EventSendResult).Decode(&r))
		if r.ClientMessageID == clientMessageID {
			return r
		}
	}
}

// messagesUntil reads u's newMessage frames until the one with id, and
// returns the ids of the messages before it (repeats allowed, I6).
func (u *user) messagesUntil(t *testing.T, id domain.MessageID) (m domain.Message, before []domain.MessageID) {
	t.Helper()
	for {
		m = u.messages(t, 1)[0]
		if m.ID == id {
			return m, before
		}
		before = append(before, m.ID)
	}
}

// storedOnce checks that the conversation of a and b holds exactly one
// message with clientMessageID, with id want, and returns it.
func storedOnce(t *testing.T, a, b *user, clientMessageID string, want domain.MessageID) domain.Message {
	t.Helper()
	hist, _, err := a.History(context.Background(), string(b.id), domain.Page{Limit: 200})
	require.NoError(t, err)
	var found []domain.Message
	for _, m := range hist {
		if m.ClientMessageID == clientMessageID {
			found = append(found, m)
		}
	}
	require.Len(t, found, 1, "stored exactly once")
	assert.Equal(t, want, found[0].ID)
	return found[0]
}

// socketSendPair registers alice and bob on base, befriends them and
// connects both.
func socketSendPair(t *testing.T, base string) (alice, bob *user) {
	t.Helper()
	alice, bob = register(t, base, "Alice"), register(t, base, "Bob")
	befriend(t, alice, bob)
	alice.connect(t, base)
	bob.connect(t, base)
	return alice, bob
}

// A send over the socket is answered by sendResult, with the meaning of the
// 202 of POST /messages/send; repeating it, over the socket or over HTTP,
// answers with the same messageId and stores nothing more (I8).
func TestSocketSendIdempotentRetry(t *testing.T) {
	base := startServer(t, newStack(t).env)
	alice, bob := socketSendPair(t, base)
	const cid = "retry-over-socket-and-http"

	alice.sendOverSocket(t, bob, "once", cid)
	first := alice.sendResult(t, cid)
	assert.Equal(t, "queued", first.Status)
	require.NotEmpty(t, first.MessageID)
	conv, err := domain.NewConversationID(alice.id, bob.id)
	require.NoError(t, err)
	assert.Equal(t, conv, first.ConversationID)
	got := bob.messages(t, 1)
	assert.Equal(t, first.MessageID, got[0].ID)
	assert.Equal(t, domain.Sequence(1), got[0].Sequence)

	alice.sendOverSocket(t, bob, "once", cid)
	assert.Equal(t, first.MessageID, alice.sendResult(t, cid).MessageID, "a retry over the socket")
	r, err := alice.Send(context.Background(), client.SendRequest{ReceiverID: bob.id, Message: "once", ClientMessageID: cid})
	require.NoError(t, err)
	assert.Equal(t, first.MessageID, r.MessageID, "a retry over HTTP")

	// A later message takes sequence 2: the retries took none, and all
	// bob saw before it were repeats of the first.
	alice.sendOverSocket(t, bob, "next", "after-the-retries")
	next := alice.sendResult(t, "after-the-retries")
	live, before := bob.messagesUntil(t, next.MessageID)
	assert.Equal(t, domain.Sequence(2), live.Sequence, "the retries stored nothing")
	for _, id := range before {
		assert.Equal(t, first.MessageID, id, "only repeats of the first came between")
	}
	storedOnce(t, alice, bob, "after-the-retries", next.MessageID)
	storedOnce(t, alice, bob, cid, first.MessageID)
}

// A send on a socket that drops before its answer may or may not have been
// taken; retried with the same clientMessageId on a new socket, it is
// stored once and answered with the same messageId (I8).
func TestSocketSendDroppedBeforeAnswerRetriedOnNewSocket(t *testing.T) {
	base := startServer(t, newStack(t).env)
	alice, bob := socketSendPair(t, base)
	const cid = "dropped-before-answer"

	alice.sendOverSocket(t, bob, "are you there", cid)
	require.NoError(t, alice.conn.CloseNow(), "dropped before its answer")
	for range alice.frames {
	}

	alice.connect(t, base)
	alice.sendOverSocket(t, bob, "are you there", cid)
	r := alice.sendResult(t, cid)
	assert.Equal(t, "queued", r.Status)

	got, before := bob.messagesUntil(t, r.MessageID)
	assert.Empty(t, before, "no other message reached bob")
	assert.Equal(t, domain.Sequence(1), got.Sequence)
	storedOnce(t, alice, bob, cid, r.MessageID)

	// A second copy would have taken sequence 2: the next message does.
	alice.sendOverSocket(t, bob, "and again", "after-the-drop")
	next := alice.sendResult(t, "after-the-drop")
	live, before := bob.messagesUntil(t, next.MessageID)
	assert.Equal(t, domain.Sequence(2), live.Sequence)
	for _, id := range before {
		assert.Equal(t, r.MessageID, id, "only repeats of the first came between")
	}
}
