package app_test

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/app"
	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
)

// downNotifier is a Notifier (and, with batches set, a BatchNotifier) that
// fails while down is set, as a lost link between nodes does, and otherwise
// hands every event to a recorder.
type downNotifier struct {
	recorder
	mu   sync.Mutex
	down bool
}

func (n *downNotifier) setDown(down bool) {
	n.mu.Lock()
	n.down = down
	n.mu.Unlock()
}

func (n *downNotifier) Notify(ctx context.Context, users []domain.UserID, ev domain.Event) error {
	n.mu.Lock()
	down := n.down
	n.mu.Unlock()
	if down {
		return domain.Errorf(domain.KindUnavailable, "no route to the other nodes")
	}
	return n.recorder.Notify(ctx, users, ev)
}

type downBatchNotifier struct{ *downNotifier }

func (n downBatchNotifier) NotifyBatch(ctx context.Context, batch []ports.Notification) error {
	for _, note := range batch {
		if err := n.Notify(ctx, note.Users, note.Event); err != nil {
			return err
		}
	}
	return nil
}

// device is a receiver's connected device: a domain.Delivery that reads
// history through the App as its user, fed with the newMessage events the
// Notifier passed on.
type device struct {
	user     domain.UserID
	got      []domain.Sequence
	delivery *domain.Delivery[domain.Message]
	app      *app.App
}

func newDevice(t *testing.T, a *app.App, user domain.UserID) *device {
	t.Helper()
	d := &device{user: user, app: a}
	var err error
	d.delivery, err = domain.NewDelivery[domain.Message](d, nil, domain.DeliveryConfig{PageSize: 2})
	require.NoError(t, err)
	return d
}

func (d *device) History(ctx context.Context, conv domain.ConversationID, page domain.Page) ([]domain.Message, bool, error) {
	return d.app.History(ctx, d.user, conv, page)
}

func (d *device) WriteLive(m domain.Message) error {
	d.got = append(d.got, m.Sequence)
	return nil
}

func (d *device) WriteEvent(ev domain.Event) error {
	if m, ok := ev.Data.(domain.Message); ok && ev.Name == domain.EventNewMessage {
		d.got = append(d.got, m.Sequence)
	}
	return nil
}

// live feeds the device the newMessage events from index from on.
func (d *device) live(t *testing.T, evs []domain.Event, from int) {
	t.Helper()
	for _, ev := range evs[from:] {
		m := ev.Data.(domain.Message)
		require.NoError(t, d.delivery.Live(context.Background(), domain.MessageRef{ConversationID: m.ConversationID, Sequence: m.Sequence, ID: m.ID}, m))
	}
}

// TestNotifierFailureAfterTheCommitLosesNothing: the fan-out of a stored batch
// fails (the pub/sub hop between nodes is down). The fan-out is at most once,
// so the batch is not failed for it: its offsets move on, the partition keeps
// flowing, nothing is stored twice, the receiver's unread count still moves;
// and the receiver's device gets the messages it missed, by gap fill on the
// next live message or by resuming from its cursor (I6, I7).
func TestNotifierFailureAfterTheCommitLosesNothing(t *testing.T) {
	for _, batches := range []bool{false, true} {
		name := "Notifier"
		if batches {
			name = "BatchNotifier"
		}
		t.Run(name, func(t *testing.T) {
			notes := &downNotifier{}
			w := newWorld(t, func(c *app.Config) {
				c.Notifier = notes
				if batches {
					c.Notifier = downBatchNotifier{notes}
				}
			})
			ctx := context.Background()
			a, b := w.user(t, "ann"), w.user(t, "ben")
			conv, err := domain.NewConversationID(a, b)
			require.NoError(t, err)
			online := newDevice(t, w.app, b)
			_, err = w.app.HandleChatMessages(ctx, []ports.Record{record(t, draft(t, a, b, "hello", "0"), 0)})
			require.NoError(t, err)
			online.live(t, notes.of(b, domain.EventNewMessage), 0)
			require.Equal(t, []domain.Sequence{1}, online.got)
			u, err := w.app.UnreadCount(ctx, b) // cached: the next batch must drop it
			require.NoError(t, err)
			require.Equal(t, int64(1), u.Total)

			notes.setDown(true)
			lost := []ports.Record{record(t, draft(t, a, b, "two", "2"), 1), record(t, draft(t, a, b, "three", "3"), 2)}
			rejected, err := w.app.HandleChatMessages(ctx, lost)
			require.NoError(t, err, "a fan-out failure does not fail the stored batch")
			require.Empty(t, rejected, "nor sets its messages aside")
			require.Len(t, notes.of(b, domain.EventNewMessage), 1, "the down notifier passed nothing on")
			u, err = w.app.UnreadCount(ctx, b)
			require.NoError(t, err)
			assert.Equal(t, int64(3), u.Total, "the receiver's cached count was dropped all the same")

			// A redelivery of the batch (a consumer that retried it) stores nothing twice.
			_, err = w.app.HandleChatMessages(ctx, lost)
			require.NoError(t, err)
			require.Len(t, w.history(t, a, b), 3)

			notes.setDown(false)
			_, err = w.app.HandleChatMessages(ctx, []ports.Record{record(t, draft(t, a, b, "four", "4"), 3)})
			require.NoError(t, err)
			evs := notes.of(b, domain.EventNewMessage)
			require.Len(t, evs, 2)
			online.live(t, evs, 1)
			assert.Equal(t, []domain.Sequence{1, 2, 3, 4}, online.got, "the online device filled the gap from history first")

			reconnected := newDevice(t, w.app, b)
			require.NoError(t, reconnected.delivery.Resume(ctx, map[domain.ConversationID]domain.Sequence{conv: 1}))
			assert.Equal(t, []domain.Sequence{2, 3, 4}, reconnected.got, "a device resuming from its cursor gets them too")
			got := w.history(t, a, b)
			require.Len(t, got, 4, "I2: each message stored once")
			assert.Equal(t, []string{"hello", "two", "three", "four"}, []string{got[0].Text, got[1].Text, got[2].Text, got[3].Text})
		})
	}
}

// TestRefusedMessageThenUnavailableStoresNothingTwice: the store refuses one
// message of a batch, and while the batch is stored one by one to set it
// aside, the store goes away. The batch fails as a whole (nothing announced,
// nothing dead-lettered yet) and the consumer retries it: the message stored
// before the outage is not stored again, the refused one is set aside once,
// and the one the outage hit is stored.
func TestRefusedMessageThenUnavailableStoresNothingTwice(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	a, b := w.user(t, "ann"), w.user(t, "ben")
	before, poison, after := draft(t, a, b, "before", "1"), draft(t, a, b, "refused", "p"), draft(t, a, b, "after", "2")
	outage := true
	w.appendFn = func(ctx context.Context, batch []ports.Append) ([]ports.Appended, error) {
		for _, ap := range batch {
			if ap.Message.ID == poison.ID {
				return nil, domain.Errorf(domain.KindInvalid, "refused")
			}
		}
		if outage && len(batch) == 1 && batch[0].Message.ID == after.ID {
			outage = false
			return nil, domain.Errorf(domain.KindUnavailable, "database down")
		}
		return w.store.AppendBatch(ctx, batch)
	}
	batch := []ports.Record{record(t, before, 0), record(t, poison, 1), record(t, after, 2)}

	rejected, err := w.app.HandleChatMessages(ctx, batch)
	require.Error(t, err, "the batch fails: the consumer retries it")
	assert.Equal(t, domain.KindUnavailable, domain.KindOf(err))
	assert.Empty(t, rejected, "nothing is set aside by a failed attempt")
	assert.Empty(t, w.notes.of(b, domain.EventNewMessage), "nothing is announced by a failed attempt")

	rejected, err = w.app.HandleChatMessages(ctx, batch)
	require.NoError(t, err)
	require.Len(t, rejected, 1)
	assert.Equal(t, int64(1), rejected[0].Record.Offset, "the refused message is set aside")
	got := w.history(t, a, b)
	require.Len(t, got, 2, "I2: nothing stored twice, nothing lost")
	assert.Equal(t, []string{"before", "after"}, []string{got[0].Text, got[1].Text})
	assert.Equal(t, []domain.Sequence{1, 2}, []domain.Sequence{got[0].Sequence, got[1].Sequence}, "I4: contiguous")
	evs := w.notes.of(b, domain.EventNewMessage)
	require.Len(t, evs, 2, "both stored messages announced, the one stored before the outage again")
	assert.Equal(t, before.ID, evs[0].Data.(domain.Message).ID)
	assert.Equal(t, after.ID, evs[1].Data.(domain.Message).ID)
}
