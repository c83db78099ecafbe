package server_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/client"
	"github.com/messenger-go/messenger/domain"
)

// chatScenario drives the whole wire contract with alice on nodeA and bob on
// nodeB (the same node for the embedded server): friends, messages with
// contiguous sequences on both sides, typing, receipts, history, unread counts,
// conversations, acks, idempotent retries and resume after a disconnect.
func chatScenario(t *testing.T, nodeA, nodeB string) {
	ctx := context.Background()
	alice := register(t, nodeA, "Alice")
	bob := register(t, nodeB, "Bob")
	alice.connect(t, nodeA)
	bob.connect(t, nodeB)

	found, err := alice.Search(ctx, bob.email)
	require.NoError(t, err)
	require.Contains(t, userIDs(found), bob.id, "an exact email finds its user")
	require.NotContains(t, userIDs(found), alice.id, "search never returns the caller")
	for _, u := range found {
		require.Empty(t, u.Email, "a stranger's email is not shown")
	}
	prefix, err := alice.Search(ctx, bob.email[:6])
	require.NoError(t, err)
	require.NotContains(t, userIDs(prefix), bob.id, "an email prefix finds nobody")

	befriend(t, alice, bob)
	friends, err := bob.Friends(ctx)
	require.NoError(t, err)
	require.Equal(t, []domain.UserID{alice.id}, userIDs(friends))
	pending, err := bob.PendingRequests(ctx)
	require.NoError(t, err)
	require.Empty(t, pending)

	conv, err := domain.NewConversationID(alice.id, bob.id)
	require.NoError(t, err)

	// Three messages: both sides see sequences 1, 2, 3 in order.
	for i := 1; i <= 3; i++ {
		r, err := alice.Send(ctx, client.SendRequest{ReceiverID: bob.id, Message: fmt.Sprintf("hello %d", i)})
		require.NoError(t, err)
		require.Equal(t, "queued", r.Status)
		require.Equal(t, conv, r.ConversationID)
		require.NotEmpty(t, r.MessageID)
		require.NotEmpty(t, r.ClientMessageID)
	}
	got := bob.messages(t, 3)
	require.Equal(t, []domain.Sequence{1, 2, 3}, sequences(got))
	require.Equal(t, "hello 1", got[0].Text)
	require.Equal(t, alice.id, got[0].SenderID)
	require.Equal(t, []domain.Sequence{1, 2, 3}, sequences(alice.messages(t, 3)), "the sender learns the sequences too")

	// Typing reaches the peer only. Bob typing back goes through the same
	// partition after alice's indicator: had alice been sent her own, it
	// would reach her before bob's.
	require.NoError(t, alice.conn.Send(ctx, domain.EventTyping, map[string]any{"receiverId": bob.id, "isTyping": true}))
	var typing domain.TypingPayload
	require.NoError(t, bob.expect(t, domain.EventTypingIndicator).Decode(&typing))
	require.Equal(t, domain.TypingPayload{SenderID: alice.id, ConversationID: conv, IsTyping: true}, typing)
	require.NoError(t, bob.conn.Send(ctx, domain.EventTyping, map[string]any{"receiverId": alice.id, "isTyping": false}))
	require.NoError(t, alice.expect(t, domain.EventTypingIndicator).Decode(&typing))
	require.Equal(t, domain.TypingPayload{SenderID: bob.id, ConversationID: conv, IsTyping: false}, typing,
		"the typist is not shown her own indicator")

	// History, from either id, ascending, paginated.
	hist, more, err := bob.History(ctx, string(alice.id), domain.Page{})
	require.NoError(t, err)
	require.False(t, more)
	require.Equal(t, []domain.Sequence{1, 2, 3}, sequences(hist))
	hist, more, err = bob.History(ctx, string(conv), domain.Page{Limit: 2})
	require.NoError(t, err)
	require.True(t, more)
	require.Equal(t, []domain.Sequence{2, 3}, sequences(hist))
	hist, more, err = bob.History(ctx, string(conv), domain.Page{Before: 2})
	require.NoError(t, err)
	require.False(t, more)
	require.Equal(t, []domain.Sequence{1}, sequences(hist))

	// Unread counts, then a read receipt moves them and tells alice.
	unread, err := bob.UnreadCount(ctx)
	require.NoError(t, err)
	require.Equal(t, int64(3), unread.Total)
	require.Equal(t, int64(3), unread.ByConversation[conv])
	mine, err := alice.UnreadCount(ctx)
	require.NoError(t, err)
	require.Zero(t, mine.Total, "own messages are never unread")

	require.NoError(t, bob.MarkRead(ctx, conv, 2))
	var receipt domain.ReadReceipt
	require.NoError(t, alice.expect(t, domain.EventReadReceipt).Decode(&receipt))
	require.Equal(t, conv, receipt.ConversationID)
	require.Equal(t, bob.id, receipt.ReaderID)
	require.Equal(t, domain.Sequence(2), receipt.UpTo)
	require.Eventually(t, func() bool {
		u, err := bob.UnreadCount(ctx)
		return err == nil && u.Total == 1 && u.ByConversation[conv] == 1
	}, 10*time.Second, 50*time.Millisecond)
	hist, _, err = bob.History(ctx, string(conv), domain.Page{})
	require.NoError(t, err)
	require.NotNil(t, hist[1].ReadAt, "read messages carry readAt")
	require.Nil(t, hist[2].ReadAt)

	convs, err := bob.Conversations(ctx)
	require.NoError(t, err)
	require.Len(t, convs, 1)
	require.Equal(t, conv, convs[0].ConversationID)
	require.Equal(t, alice.id, convs[0].Peer.ID)
	require.Equal(t, domain.Sequence(3), convs[0].LastMessage.Sequence)
	require.Equal(t, int64(1), convs[0].UnreadCount)

	// joinChat and ack: bob acknowledges delivery, alice hears of it.
	require.NoError(t, bob.conn.Send(ctx, domain.EventJoinChat, map[string]any{"conversationId": conv}))
	var joined domain.ConversationPayload
	require.NoError(t, bob.expect(t, domain.EventChatRegistered).Decode(&joined))
	require.Equal(t, conv, joined.ConversationID)
	require.NoError(t, bob.conn.Send(ctx, domain.EventAck, map[string]any{"conversationId": conv, "upToSequenceId": 3}))
	var delivered domain.Watermark
	require.NoError(t, alice.expect(t, domain.EventMessageDelivered).Decode(&delivered))
	require.Equal(t, domain.Watermark{ConversationID: conv, UpTo: 3}, delivered)

	// A retried send with the same clientMessageId is stored once.
	first, err := alice.Send(ctx, client.SendRequest{ReceiverID: bob.id, Message: "once", ClientMessageID: "retry-1"})
	require.NoError(t, err)
	second, err := alice.Send(ctx, client.SendRequest{ReceiverID: bob.id, Message: "once", ClientMessageID: "retry-1"})
	require.NoError(t, err)
	require.Equal(t, first.MessageID, second.MessageID)
	m4 := bob.messages(t, 1)[0]
	require.Equal(t, domain.Sequence(4), m4.Sequence)
	require.Equal(t, first.MessageID, m4.ID)

	// Bob goes offline, alice writes on, bob comes back and resumes from 4.
	bob.disconnect(t)
	for i := 5; i <= 7; i++ {
		_, err := alice.Send(ctx, client.SendRequest{ReceiverID: bob.id, Message: fmt.Sprintf("while away %d", i)})
		require.NoError(t, err)
	}
	require.Eventually(t, func() bool {
		h, _, err := alice.History(ctx, string(conv), domain.Page{After: 4})
		return err == nil && len(h) == 3
	}, 10*time.Second, 50*time.Millisecond, "the three messages are stored")
	bob.connect(t, nodeB)
	require.NoError(t, bob.conn.Send(ctx, domain.EventResume, map[string]any{"conversations": map[domain.ConversationID]domain.Sequence{conv: 4}}))
	replayed := bob.messages(t, 3)
	require.Equal(t, []domain.Sequence{5, 6, 7}, sequences(replayed))
	require.Equal(t, "while away 5", replayed[0].Text)

	// And live again after the replay.
	_, err = alice.Send(ctx, client.SendRequest{ReceiverID: bob.id, Message: "live"})
	require.NoError(t, err)
	require.Equal(t, []domain.Sequence{8}, sequences(bob.messages(t, 1)))

	hist, _, err = alice.History(ctx, string(conv), domain.Page{})
	require.NoError(t, err)
	require.Equal(t, []domain.Sequence{1, 2, 3, 4, 5, 6, 7, 8}, sequences(hist), "every message stored once, contiguous")
}

func userIDs(us []domain.User) []domain.UserID {
	out := make([]domain.UserID, len(us))
	for i, u := range us {
		out[i] = u.ID
	}
	return out
}

func TestEmbeddedServerChat(t *testing.T) {
	base := startServer(t, nil)
	chatScenario(t, base, base)
}

func TestEmbeddedServerOutsiderIsForbidden(t *testing.T) {
	ctx := context.Background()
	base := startServer(t, nil)
	alice, bob, carol := register(t, base, "Alice"), register(t, base, "Bob"), register(t, base, "Carol")
	carol.connect(t, base)
	befriend(t, alice, bob)
	_, err := alice.Send(ctx, client.SendRequest{ReceiverID: bob.id, Message: "private"})
	require.NoError(t, err)
	conv, _ := domain.NewConversationID(alice.id, bob.id)
	require.Eventually(t, func() bool {
		h, _, err := bob.History(ctx, string(conv), domain.Page{})
		return err == nil && len(h) == 1
	}, 10*time.Second, 50*time.Millisecond)

	_, _, err = carol.History(ctx, string(conv), domain.Page{})
	apiError(t, err, 403, "forbidden")
	apiError(t, carol.MarkRead(ctx, conv, 1), 403, "forbidden")
	_, err = carol.Send(ctx, client.SendRequest{ReceiverID: bob.id, Message: "hi stranger"})
	apiError(t, err, 403, "forbidden")

	require.NoError(t, carol.conn.Send(ctx, domain.EventJoinChat, map[string]any{"conversationId": conv}))
	var e domain.ErrorPayload
	require.NoError(t, carol.expect(t, domain.EventError).Decode(&e))
	assert.Equal(t, "forbidden", e.Code)
	require.NoError(t, carol.conn.Send(ctx, domain.EventAck, map[string]any{"conversationId": conv, "upToSequenceId": 1}))
	require.NoError(t, carol.expect(t, domain.EventError).Decode(&e))
	assert.Equal(t, "forbidden", e.Code)

	unread, err := bob.UnreadCount(ctx)
	require.NoError(t, err)
	require.Equal(t, int64(1), unread.Total, "carol's attempts changed nothing")
}
