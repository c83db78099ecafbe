package app_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/app"
	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
)

// failingReceipts is a ReceiptStore whose calls fail on cue: fail, when set,
// is asked before each call (n counts the calls of that method from 1).
type failingReceipts struct {
	ports.ReceiptStore
	mu    sync.Mutex
	reads int
	dels  int
	fail  func(method string, n int) error
}

func (r *failingReceipts) check(method string, n *int) error {
	r.mu.Lock()
	*n++
	count, fail := *n, r.fail
	r.mu.Unlock()
	if fail == nil {
		return nil
	}
	return fail(method, count)
}

func (r *failingReceipts) MarkRead(ctx context.Context, c domain.ConversationID, u domain.UserID, upTo domain.Sequence, at time.Time) (domain.Sequence, bool, error) {
	if err := r.check("MarkRead", &r.reads); err != nil {
		return 0, false, err
	}
	return r.ReceiptStore.MarkRead(ctx, c, u, upTo, at)
}

func (r *failingReceipts) MarkDelivered(ctx context.Context, c domain.ConversationID, u domain.UserID, upTo domain.Sequence, at time.Time) (domain.Sequence, bool, error) {
	if err := r.check("MarkDelivered", &r.dels); err != nil {
		return 0, false, err
	}
	return r.ReceiptStore.MarkDelivered(ctx, c, u, upTo, at)
}

// publishes is a Publisher that counts what reaches the log per topic and
// runs hook, when set, instead of publishing.
type publishes struct {
	ports.Publisher
	mu      sync.Mutex
	byTopic map[string]int
	hook    func(ctx context.Context, topic string) error
}

func (p *publishes) Publish(ctx context.Context, topic string, key, value []byte) error {
	p.mu.Lock()
	hook := p.hook
	p.mu.Unlock()
	if hook != nil {
		return hook(ctx, topic)
	}
	if err := p.Publisher.Publish(ctx, topic, key, value); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.byTopic == nil {
		p.byTopic = map[string]int{}
	}
	p.byTopic[topic]++
	return nil
}

func (p *publishes) count(topic string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.byTopic[topic]
}

func (p *publishes) setHook(hook func(ctx context.Context, topic string) error) {
	p.mu.Lock()
	p.hook = hook
	p.mu.Unlock()
}

// realtimeWorld is a world whose receipts and log can fail, with a and b
// friends and a conversation of three messages from a to b.
func realtimeWorld(t *testing.T) (w *world, receipts *failingReceipts, log *publishes, a, b domain.UserID, conv domain.ConversationID) {
	t.Helper()
	w = newWorld(t, func(c *app.Config) {
		receipts = &failingReceipts{ReceiptStore: c.Receipts}
		c.Receipts = receipts
		log = &publishes{Publisher: c.Log}
		c.Log = log
	})
	a, b = w.user(t, "ann"), w.user(t, "ben")
	w.friends(t, a, b)
	var batch []ports.Record
	for i := range 3 {
		batch = append(batch, record(t, draft(t, a, b, "m", string(rune('a'+i))), int64(i)))
	}
	_, err := w.app.HandleChatMessages(context.Background(), batch)
	require.NoError(t, err)
	conv, err = domain.NewConversationID(a, b)
	require.NoError(t, err)
	return w, receipts, log, a, b, conv
}

func TestAckErrors(t *testing.T) {
	w, receipts, _, a, b, conv := realtimeWorld(t)
	ctx := context.Background()
	stranger := w.user(t, "cat")
	receipts.fail = func(method string, n int) error {
		if n == 1 {
			return domain.Errorf(domain.KindUnavailable, "database down")
		}
		return nil
	}
	tests := []struct {
		name   string
		caller domain.UserID
		upTo   domain.Sequence
		kind   domain.Kind
	}{
		{name: "not a participant", caller: stranger, upTo: 1, kind: domain.KindForbidden},
		{name: "sequence below 1", caller: b, upTo: 0, kind: domain.KindInvalid},
		{name: "store down", caller: b, upTo: 2, kind: domain.KindUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := w.app.Ack(ctx, tt.caller, conv, tt.upTo)
			require.Error(t, err)
			assert.Equal(t, tt.kind, domain.KindOf(err), "error: %v", err)
		})
	}
	assert.Empty(t, w.notes.of(a, domain.EventMessageDelivered), "a failed ack tells no one")
	receipts.mu.Lock()
	assert.Equal(t, 1, receipts.dels, "only the participant's valid ack reached the store")
	receipts.mu.Unlock()

	// The retried ack goes through; one that moves nothing tells no one.
	mark, err := w.app.Ack(ctx, b, conv, 2)
	require.NoError(t, err)
	assert.Equal(t, domain.Watermark{ConversationID: conv, UpTo: 2}, mark)
	_, err = w.app.Ack(ctx, b, conv, 1)
	require.NoError(t, err)
	evs := w.notes.of(a, domain.EventMessageDelivered)
	require.Len(t, evs, 1)
	assert.Equal(t, domain.Watermark{ConversationID: conv, UpTo: 2}, evs[0].Data)
	assert.Empty(t, w.notes.of(b, domain.EventMessageDelivered), "the acknowledging side is not told")
}

func TestMarkReadErrors(t *testing.T) {
	w, _, log, _, b, conv := realtimeWorld(t)
	ctx := context.Background()
	stranger := w.user(t, "cat")
	for _, tt := range []struct {
		name   string
		caller domain.UserID
		upTo   domain.Sequence
		kind   domain.Kind
	}{
		{name: "not a participant", caller: stranger, upTo: 1, kind: domain.KindForbidden},
		{name: "sequence below 1", caller: b, upTo: 0, kind: domain.KindInvalid},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := w.app.MarkRead(ctx, tt.caller, conv, tt.upTo)
			require.Error(t, err)
			assert.Equal(t, tt.kind, domain.KindOf(err), "error: %v", err)
		})
	}
	assert.Zero(t, log.count(ports.TopicReadReceipts), "nothing refused reaches the log")

	t.Run("log down", func(t *testing.T) {
		log.setHook(func(context.Context, string) error { return domain.Errorf(domain.KindUnavailable, "broker down") })
		_, err := w.app.MarkRead(ctx, b, conv, 2)
		require.Error(t, err)
		assert.Equal(t, domain.KindUnavailable, domain.KindOf(err), "the caller learns it was not queued")
		log.setHook(nil)
		mark, err := w.app.MarkRead(ctx, b, conv, 2)
		require.NoError(t, err)
		assert.Equal(t, domain.Watermark{ConversationID: conv, UpTo: 2}, mark)
		assert.Equal(t, 1, log.count(ports.TopicReadReceipts))
	})
}

func TestTypingErrors(t *testing.T) {
	w, _, log, a, b, _ := realtimeWorld(t)
	ctx := context.Background()
	stranger, blocker := w.user(t, "cat"), w.user(t, "dan")
	w.friends(t, a, blocker)
	_, err := w.app.Block(ctx, blocker, a)
	require.NoError(t, err)
	for _, tt := range []struct {
		name string
		to   domain.UserID
		kind domain.Kind
	}{
		{name: "to oneself", to: a, kind: domain.KindInvalid},
		{name: "to a stranger", to: stranger, kind: domain.KindForbidden},
		{name: "to someone who blocked the sender", to: blocker, kind: domain.KindForbidden},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := w.app.Typing(ctx, a, tt.to, true)
			require.Error(t, err)
			assert.Equal(t, tt.kind, domain.KindOf(err), "error: %v", err)
		})
	}
	assert.Zero(t, log.count(ports.TopicTyping), "nothing refused reaches the log")

	t.Run("the publish is bounded by TypingTimeout", func(t *testing.T) {
		var deadline time.Time
		var bounded bool
		log.setHook(func(ctx context.Context, topic string) error {
			deadline, bounded = ctx.Deadline()
			return domain.Errorf(domain.KindUnavailable, "broker slow: %v", ctx.Err())
		})
		defer log.setHook(nil)
		before := time.Now()
		err := w.app.Typing(ctx, a, b, true)
		require.Error(t, err)
		assert.Equal(t, domain.KindUnavailable, domain.KindOf(err))
		require.True(t, bounded, "the publish has a deadline")
		assert.False(t, deadline.After(time.Now().Add(time.Second)), "at most TypingTimeout (1 s by default) away")
		assert.True(t, deadline.After(before), "and not already past")
	})
	require.NoError(t, w.app.Typing(ctx, a, b, false))
	assert.Equal(t, 1, log.count(ports.TopicTyping))
}

// TestUnblockEndToEnd: a block stops messages and typing both ways; only the
// blocker lifts it, after which the pair has no relation (still no messages)
// until a new friend request is accepted, and then everything flows again at
// once, despite the App's cached friendship reads.
func TestUnblockEndToEnd(t *testing.T) {
	w := newWorld(t, func(c *app.Config) { c.FriendshipCacheTTL = time.Hour })
	w.run(t)
	ctx := context.Background()
	a, b := w.user(t, "ann"), w.user(t, "ben")
	w.friends(t, a, b)
	send := func(from, to domain.UserID) error {
		_, err := w.app.SendMessage(ctx, domain.Draft{SenderID: from, ReceiverID: to, Text: "hi"})
		return err
	}
	require.NoError(t, send(a, b)) // cached: a may message b
	require.NoError(t, send(b, a))

	_, err := w.app.Block(ctx, b, a)
	require.NoError(t, err)
	for _, err := range []error{send(a, b), send(b, a), w.app.Typing(ctx, a, b, true)} {
		assert.Equal(t, domain.KindForbidden, domain.KindOf(err), "blocked: %v", err)
	}
	_, err = w.app.SendFriendRequest(ctx, a, b)
	assert.Equal(t, domain.KindForbidden, domain.KindOf(err), "no requests to a blocker: %v", err)

	err = w.app.Unblock(ctx, a, b)
	assert.Equal(t, domain.KindNotFound, domain.KindOf(err), "only the blocker lifts a block: %v", err)
	assert.Equal(t, domain.KindForbidden, domain.KindOf(send(a, b)), "still blocked")

	require.NoError(t, w.app.Unblock(ctx, b, a))
	assert.Equal(t, domain.KindForbidden, domain.KindOf(send(a, b)), "unblocked is not befriended")
	err = w.app.Unblock(ctx, b, a)
	assert.Equal(t, domain.KindNotFound, domain.KindOf(err), "nothing left to lift: %v", err)

	f, err := w.app.SendFriendRequest(ctx, a, b)
	require.NoError(t, err, "requests are possible again")
	assert.Equal(t, domain.FriendPending, f.Status)
	_, err = w.app.AcceptFriendRequest(ctx, b, a)
	require.NoError(t, err)
	require.NoError(t, send(a, b))
	require.NoError(t, send(b, a))
	require.NoError(t, w.app.Typing(ctx, a, b, true))
	require.Eventually(t, func() bool { return len(w.history(t, a, b)) == 4 }, 10*time.Second, 5*time.Millisecond,
		"the two sends before the block and the two after are stored")
}

// TestReadReceiptStoreFailurePartWay: the store fails on the second receipt of
// a batch. The batch fails as a whole and is retried: the receipt stored
// before the failure changes nothing the second time (no second readReceipt),
// and the one the failure hit is stored and announced.
func TestReadReceiptStoreFailurePartWay(t *testing.T) {
	w, receipts, _, a, b, conv := realtimeWorld(t)
	ctx := context.Background()
	c := w.user(t, "cat")
	w.friends(t, a, c)
	_, err := w.app.HandleChatMessages(ctx, []ports.Record{record(t, draft(t, a, c, "to cat", "cat-1"), 3)})
	require.NoError(t, err)
	convC, err := domain.NewConversationID(a, c)
	require.NoError(t, err)
	for _, u := range []domain.UserID{b, c} {
		_, err := w.app.UnreadCount(ctx, u) // cached: the receipts must drop it
		require.NoError(t, err)
	}
	receipts.fail = func(method string, n int) error {
		if n == 2 {
			return domain.Errorf(domain.KindUnavailable, "database down")
		}
		return nil
	}
	receipt := func(conv domain.ConversationID, reader domain.UserID, upTo domain.Sequence) ports.Record {
		v, err := json.Marshal(map[string]any{"conversationId": conv, "readerId": reader, "upToSequenceId": upTo, "at": time.Now()})
		require.NoError(t, err)
		return ports.Record{Topic: ports.TopicReadReceipts, Value: v}
	}
	batch := []ports.Record{receipt(conv, b, 3), receipt(convC, c, 1)}

	rejected, err := w.app.HandleReadReceipts(ctx, batch)
	require.Error(t, err, "the batch fails: the consumer retries it")
	assert.Equal(t, domain.KindUnavailable, domain.KindOf(err))
	assert.Empty(t, rejected)

	rejected, err = w.app.HandleReadReceipts(ctx, batch)
	require.NoError(t, err)
	assert.Empty(t, rejected)
	evs := w.notes.of(a, domain.EventReadReceipt)
	require.Len(t, evs, 2, "one readReceipt per watermark that moved, none for the replayed one")
	assert.Equal(t, conv, evs[0].Data.(domain.ReadReceipt).ConversationID)
	assert.Equal(t, convC, evs[1].Data.(domain.ReadReceipt).ConversationID)
	for _, u := range []domain.UserID{b, c} {
		counts, err := w.app.UnreadCount(ctx, u)
		require.NoError(t, err)
		assert.Zero(t, counts.Total, "both watermarks stored, both cached counts dropped")
	}
}
