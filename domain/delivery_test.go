package domain_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/domain"
)

// device is a fake DeliveryDevice and DeliveryObserver over an in-memory
// store of two conversations, "a" and "b". It logs what it is sent ("live a3",
// "stored a2", "resync a5", and "live a2 (other id)" for a live message whose
// id is not the stored one) and what it is told ("reused a2", "ahead a8 5",
// "fill failed a1 3", "resume failed b").
type device struct {
	t        *testing.T
	convs    map[string]domain.ConversationID
	names    map[domain.ConversationID]string
	stored   map[domain.ConversationID][]domain.Message
	failing  map[domain.ConversationID]bool // History fails for these
	reads    int                            // History calls
	out      []string
	reports  []string
	failLive error // WriteLive fails with it when set
}

func newDevice(t *testing.T) *device {
	d := &device{
		t:       t,
		convs:   map[string]domain.ConversationID{},
		names:   map[domain.ConversationID]string{},
		stored:  map[domain.ConversationID][]domain.Message{},
		failing: map[domain.ConversationID]bool{},
	}
	me := domain.NewUserID()
	for _, name := range []string{"b", "a"} { // "a" sorts first, whatever the ids
		conv, err := domain.NewConversationID(me, domain.NewUserID())
		require.NoError(t, err)
		d.convs[name], d.names[conv] = conv, name
	}
	if d.convs["a"] > d.convs["b"] {
		d.convs["a"], d.convs["b"] = d.convs["b"], d.convs["a"]
		d.names[d.convs["a"]], d.names[d.convs["b"]] = "a", "b"
	}
	return d
}

// store makes conv hold messages 1..n.
func (d *device) store(name string, n domain.Sequence) {
	conv := d.convs[name]
	for seq := domain.Sequence(len(d.stored[conv]) + 1); seq <= n; seq++ {
		d.stored[conv] = append(d.stored[conv], domain.Message{ID: storedID(conv, seq), ConversationID: conv, Sequence: seq})
	}
}

func storedID(conv domain.ConversationID, seq domain.Sequence) domain.MessageID {
	return domain.MessageID(fmt.Sprintf("%s/%d", conv, seq))
}

func (d *device) History(_ context.Context, conv domain.ConversationID, page domain.Page) ([]domain.Message, bool, error) {
	d.reads++
	if d.failing[conv] {
		return nil, false, domain.Errorf(domain.KindUnavailable, "store down")
	}
	page, err := page.Normalize()
	require.NoError(d.t, err)
	msgs := d.stored[conv]
	if page.Before > 0 {
		msgs = msgs[:min(len(msgs), int(page.Before)-1)]
	}
	if !page.HasAfter {
		from := max(0, len(msgs)-page.Limit)
		return slices.Clone(msgs[from:]), from > 0, nil
	}
	msgs = msgs[min(len(msgs), int(page.After)):]
	n := min(len(msgs), page.Limit)
	return slices.Clone(msgs[:n]), n < len(msgs), nil
}

func (d *device) WriteLive(ref domain.MessageRef) error {
	if d.failLive != nil {
		return d.failLive
	}
	line := fmt.Sprintf("live %s%d", d.names[ref.ConversationID], ref.Sequence)
	if ref.ID != storedID(ref.ConversationID, ref.Sequence) {
		line += " (other id)"
	}
	d.out = append(d.out, line)
	return nil
}

func (d *device) WriteEvent(ev domain.Event) error {
	switch p := ev.Data.(type) {
	case domain.Message:
		require.Equal(d.t, domain.EventNewMessage, ev.Name)
		require.Equal(d.t, storedID(p.ConversationID, p.Sequence), p.ID)
		d.out = append(d.out, fmt.Sprintf("stored %s%d", d.names[p.ConversationID], p.Sequence))
	case domain.ResyncPayload:
		require.Equal(d.t, domain.EventResync, ev.Name)
		d.out = append(d.out, fmt.Sprintf("resync %s%d", d.names[p.ConversationID], p.LastSequenceID))
	default:
		d.t.Fatalf("unexpected event %+v", ev)
	}
	return nil
}

func (d *device) ResumeFailed(conv domain.ConversationID, err error) error {
	require.Equal(d.t, domain.KindUnavailable, domain.KindOf(err))
	d.reports = append(d.reports, "resume failed "+d.names[conv])
	return nil
}

func (d *device) FillFailed(conv domain.ConversationID, after, before domain.Sequence, err error) {
	require.Equal(d.t, domain.KindUnavailable, domain.KindOf(err))
	d.reports = append(d.reports, fmt.Sprintf("fill failed %s%d %d", d.names[conv], after, before))
}

func (d *device) SequenceReused(conv domain.ConversationID, seq domain.Sequence, id domain.MessageID) {
	require.NotEqual(d.t, storedID(conv, seq), id)
	d.reports = append(d.reports, fmt.Sprintf("reused %s%d", d.names[conv], seq))
}

func (d *device) CursorAhead(conv domain.ConversationID, cursor, stored domain.Sequence) {
	d.reports = append(d.reports, fmt.Sprintf("ahead %s%d %d", d.names[conv], cursor, stored))
}

// step is one thing that happens to a device's delivery.
type step func(d *device, dl *domain.Delivery[domain.MessageRef]) error

// live delivers the live message seq of conversation name, storing the
// conversation up to it first, as the server does.
func live(name string, seq domain.Sequence) step {
	return func(d *device, dl *domain.Delivery[domain.MessageRef]) error {
		d.store(name, seq)
		conv := d.convs[name]
		return dl.Live(context.Background(), domain.MessageRef{ConversationID: conv, Sequence: seq, ID: storedID(conv, seq)}, domain.MessageRef{ConversationID: conv, Sequence: seq, ID: storedID(conv, seq)})
	}
}

// liveOther delivers a live message under sequence seq with another id.
func liveOther(name string, seq domain.Sequence) step {
	return func(d *device, dl *domain.Delivery[domain.MessageRef]) error {
		ref := domain.MessageRef{ConversationID: d.convs[name], Sequence: seq, ID: "another message"}
		return dl.Live(context.Background(), ref, ref)
	}
}

// resume sends a resume with cursors "a" and "b" (negative: absent).
func resume(a, b domain.Sequence) step {
	return func(d *device, dl *domain.Delivery[domain.MessageRef]) error {
		cursors := map[domain.ConversationID]domain.Sequence{}
		if a >= 0 {
			cursors[d.convs["a"]] = a
		}
		if b >= 0 {
			cursors[d.convs["b"]] = b
		}
		return dl.Resume(context.Background(), cursors)
	}
}

func endHold(d *device, dl *domain.Delivery[domain.MessageRef]) error {
	return dl.EndHold(context.Background())
}

// storeTo stores conversation name up to n without a live event.
func storeTo(name string, n domain.Sequence) step {
	return func(d *device, _ *domain.Delivery[domain.MessageRef]) error {
		d.store(name, n)
		return nil
	}
}

// fail makes the history of conversation name fail (or work again).
func fail(name string, failing bool) step {
	return func(d *device, _ *domain.Delivery[domain.MessageRef]) error {
		d.failing[d.convs[name]] = failing
		return nil
	}
}

func seqs(prefix string, from, to domain.Sequence) []string {
	var out []string
	for s := from; s <= to; s++ {
		out = append(out, fmt.Sprintf("%s%d", prefix, s))
	}
	return out
}

func TestDelivery(t *testing.T) {
	tests := []struct {
		name    string
		cfg     domain.DeliveryConfig
		steps   []step
		out     []string
		reports []string
		reads   int // History calls, when not 0
	}{
		// Live messages.
		{name: "the first live message of a conversation starts its record",
			steps: []step{storeTo("a", 2), live("a", 3)}, out: []string{"live a3"}, reads: -1},
		{name: "the next sequence is sent",
			steps: []step{live("a", 1), live("a", 2), live("b", 1)}, out: []string{"live a1", "live a2", "live b1"}},
		{name: "a gap is filled from history before the live message",
			steps: []step{live("a", 1), storeTo("a", 3), live("a", 4)}, out: []string{"live a1", "stored a2", "stored a3", "live a4"}},
		{name: "a gap is filled page by page", cfg: domain.DeliveryConfig{PageSize: 2},
			steps: []step{live("a", 1), storeTo("a", 7), live("a", 8)}, out: append(append([]string{"live a1"}, seqs("stored a", 2, 7)...), "live a8"), reads: 3},
		{name: "a failed gap fill still sends the live message and is reported",
			steps:   []step{live("a", 1), fail("a", true), storeTo("a", 2), live("a", 3), fail("a", false), live("a", 4)},
			out:     []string{"live a1", "live a3", "live a4"},
			reports: []string{"fill failed a1 3"}},
		{name: "a repeat is dropped",
			steps: []step{live("a", 1), live("a", 2), live("a", 2), live("a", 1)}, out: []string{"live a1", "live a2"}},
		{name: "a repeat of a filled message is dropped",
			steps: []step{live("a", 1), storeTo("a", 2), live("a", 3), live("a", 2)}, out: []string{"live a1", "stored a2", "live a3"}},
		{name: "a sequence sent under another id is delivered and reported",
			steps:   []step{live("a", 1), live("a", 2), liveOther("a", 2), live("a", 3)},
			out:     []string{"live a1", "live a2", "live a2 (other id)", "live a3"},
			reports: []string{"reused a2"}},
		{name: "a filled sequence sent under another id is delivered and reported",
			steps:   []step{live("a", 1), storeTo("a", 2), live("a", 3), liveOther("a", 2)},
			out:     []string{"live a1", "stored a2", "live a3", "live a2 (other id)"},
			reports: []string{"reused a2"}},
		{name: "a sequence below the first sent was never sent, and is",
			steps: []step{storeTo("a", 3), live("a", 4), live("a", 3), live("a", 1), live("a", 3), live("a", 1), live("a", 5)},
			out:   []string{"live a4", "live a3", "live a1", "live a5"}},
		{name: "a message without a sequence passes untracked, even held", cfg: domain.DeliveryConfig{Hold: true},
			steps: []step{func(d *device, dl *domain.Delivery[domain.MessageRef]) error {
				ref := domain.MessageRef{ConversationID: d.convs["a"], ID: storedID(d.convs["a"], 0)}
				return dl.Live(context.Background(), ref, ref)
			}, endHold}, out: []string{"live a0"}},

		// Resume.
		{name: "resume replays after the cursor, then goes live",
			steps: []step{storeTo("a", 5), resume(2, -1), live("a", 6)}, out: []string{"stored a3", "stored a4", "stored a5", "live a6"}},
		{name: "resume from 0 replays everything",
			steps: []step{storeTo("a", 3), resume(0, -1)}, out: seqs("stored a", 1, 3)},
		{name: "resume of an empty conversation sends nothing",
			steps: []step{resume(0, -1), live("a", 1)}, out: []string{"live a1"}},
		{name: "resume up to date reads history once and sends nothing",
			steps: []step{storeTo("a", 3), resume(3, -1)}, out: nil, reads: 1},
		{name: "resume replays page by page", cfg: domain.DeliveryConfig{PageSize: 2},
			steps: []step{storeTo("a", 7), resume(1, -1)}, out: seqs("stored a", 2, 7)},
		{name: "resume replays conversations in id order",
			steps: []step{storeTo("a", 2), storeTo("b", 2), resume(1, 0)}, out: []string{"stored a2", "stored b1", "stored b2"}},
		{name: "a conversation whose history fails is reported and the others replay",
			steps:   []step{storeTo("a", 2), storeTo("b", 2), fail("a", true), resume(0, 0)},
			out:     []string{"stored b1", "stored b2"},
			reports: []string{"resume failed a"}},
		{name: "a failed resume leaves live messages to start the record",
			steps:   []step{storeTo("a", 4), fail("a", true), resume(2, -1), fail("a", false), live("a", 5), live("a", 6)},
			out:     []string{"live a5", "live a6"},
			reports: []string{"resume failed a"}},
		{name: "a live message below the cursor is taken as had",
			steps: []step{storeTo("a", 4), resume(4, -1), live("a", 3), live("a", 4), live("a", 5)}, out: []string{"live a5"}},
		{name: "a late resume sends only what this device was not sent",
			steps: []step{storeTo("a", 3), live("a", 4), storeTo("a", 5), resume(1, -1), live("a", 5), live("a", 6)},
			out:   []string{"live a4", "stored a2", "stored a3", "stored a5", "live a6"}},
		{name: "a late resume with the cursor at the highest sent",
			steps: []step{live("a", 4), storeTo("a", 5), resume(4, -1)}, out: []string{"live a4", "stored a5"}},
		{name: "a late resume with the cursor above the highest sent",
			steps: []step{storeTo("a", 3), live("a", 4), storeTo("a", 7), resume(6, -1), live("a", 5)}, out: []string{"live a4", "stored a7"}},

		// Cursor ahead of the store.
		{name: "a cursor ahead of the store is not taken as sent: resync, and later messages go out",
			steps:   []step{storeTo("a", 5), resume(8, -1), live("a", 6), live("a", 7), live("a", 8), live("a", 9)},
			out:     []string{"resync a5", "live a6", "live a7", "live a8", "live a9"},
			reports: []string{"ahead a8 5"}},
		{name: "after a resync a gap is filled from the store's position",
			steps:   []step{storeTo("a", 5), resume(8, -1), storeTo("a", 7), live("a", 8), live("a", 5)},
			out:     []string{"resync a5", "stored a6", "stored a7", "live a8", "live a5"},
			reports: []string{"ahead a8 5"}},
		{name: "a cursor ahead of an empty conversation",
			steps:   []step{resume(3, -1), live("a", 1), live("a", 2)},
			out:     []string{"resync a0", "live a1", "live a2"},
			reports: []string{"ahead a3 0"}},
		{name: "messages held while the cursor was found ahead all go out", cfg: domain.DeliveryConfig{Hold: true},
			steps:   []step{storeTo("a", 5), live("a", 6), live("a", 7), resume(9, -1), live("a", 8)},
			out:     []string{"resync a7", "live a6", "live a7", "live a8"},
			reports: []string{"ahead a9 7"}},
		{name: "a cursor ahead after live messages were sent",
			steps:   []step{live("a", 2), resume(6, -1), live("a", 2), live("a", 3)},
			out:     []string{"live a2", "resync a2", "live a2", "live a3"},
			reports: []string{"ahead a6 2"}},
		{name: "the other conversations of the resume replay",
			steps:   []step{storeTo("a", 1), storeTo("b", 2), resume(4, 1)},
			out:     []string{"resync a1", "stored b2"},
			reports: []string{"ahead a4 1"}},
		{name: "a failed check of the store's position is a failed resume",
			steps: []step{storeTo("a", 1), func(d *device, dl *domain.Delivery[domain.MessageRef]) error {
				d.failing[d.convs["a"]] = true
				return dl.Resume(context.Background(), map[domain.ConversationID]domain.Sequence{d.convs["a"]: 3})
			}},
			reports: []string{"resume failed a"}},

		// Holding for the first resume.
		{name: "without hold live messages go out at once",
			steps: []step{live("a", 1)}, out: []string{"live a1"}},
		{name: "held live messages wait for the replay and go out once, in order", cfg: domain.DeliveryConfig{Hold: true},
			steps: []step{storeTo("a", 3), live("a", 4), live("a", 5), resume(1, -1), live("a", 6)},
			out:   []string{"stored a2", "stored a3", "stored a4", "stored a5", "live a6"}},
		{name: "held live messages of a conversation not resumed go out after the replay", cfg: domain.DeliveryConfig{Hold: true},
			steps: []step{storeTo("a", 2), live("b", 1), resume(1, -1)},
			out:   []string{"stored a2", "live b1"}},
		{name: "an empty resume ends the hold", cfg: domain.DeliveryConfig{Hold: true},
			steps: []step{live("a", 1), live("a", 2), resume(-1, -1), live("a", 3)}, out: []string{"live a1", "live a2", "live a3"}},
		{name: "EndHold lets held messages through the rules", cfg: domain.DeliveryConfig{Hold: true},
			steps: []step{live("a", 1), live("a", 1), storeTo("a", 3), live("a", 4), endHold, endHold},
			out:   []string{"live a1", "stored a2", "stored a3", "live a4"}},
		{name: "a resume after the hold ended replays what was not sent", cfg: domain.DeliveryConfig{Hold: true},
			steps: []step{storeTo("a", 2), live("a", 3), endHold, resume(0, -1)},
			out:   []string{"live a3", "stored a1", "stored a2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newDevice(t)
			dl, err := domain.NewDelivery[domain.MessageRef](d, d, tt.cfg)
			require.NoError(t, err)
			for i, s := range tt.steps {
				require.NoError(t, s(d, dl), "step %d", i)
			}
			assert.Equal(t, tt.out, d.out, "what the device was sent")
			assert.Equal(t, tt.reports, d.reports, "what was reported")
			assert.False(t, dl.Holding(), "no hold left")
			switch {
			case tt.reads > 0:
				assert.Equal(t, tt.reads, d.reads, "history calls")
			case tt.reads < 0:
				assert.Zero(t, d.reads, "history calls")
			}
		})
	}
}

func TestDeliveryHoldOverflow(t *testing.T) {
	d := newDevice(t)
	dl, err := domain.NewDelivery[domain.MessageRef](d, nil, domain.DeliveryConfig{Hold: true, HoldLimit: 2})
	require.NoError(t, err)
	require.True(t, dl.Holding())
	require.NoError(t, live("a", 1)(d, dl))
	require.NoError(t, live("a", 2)(d, dl))
	require.ErrorIs(t, live("a", 3)(d, dl), domain.ErrHoldOverflow)
	assert.Empty(t, d.out, "nothing goes out while held")
}

// TestDeliveryRemembersRecentIDs: a sequence reused within the latest ids
// remembered is caught; an older one is taken for a repeat.
func TestDeliveryRemembersRecentIDs(t *testing.T) {
	d := newDevice(t)
	dl, err := domain.NewDelivery[domain.MessageRef](d, d, domain.DeliveryConfig{})
	require.NoError(t, err)
	for seq := domain.Sequence(1); seq <= 100; seq++ {
		require.NoError(t, live("a", seq)(d, dl))
	}
	require.NoError(t, liveOther("a", 99)(d, dl))
	require.NoError(t, liveOther("a", 2)(d, dl))
	assert.Equal(t, []string{"reused a99"}, d.reports)
	assert.Len(t, d.out, 101)
}

func TestDeliveryWriteErrorsEndTheCall(t *testing.T) {
	broken := errors.New("connection lost")
	d := newDevice(t)
	dl, err := domain.NewDelivery[domain.MessageRef](d, d, domain.DeliveryConfig{Hold: true})
	require.NoError(t, err)
	require.NoError(t, live("a", 1)(d, dl))
	d.failLive = broken
	require.ErrorIs(t, resume(-1, -1)(d, dl), broken)
	require.ErrorIs(t, live("a", 2)(d, dl), broken)
}

func TestNewDeliveryValidates(t *testing.T) {
	d := newDevice(t)
	for name, cfg := range map[string]domain.DeliveryConfig{
		"negative hold limit": {HoldLimit: -1},
		"negative page":       {PageSize: -1},
		"page too large":      {PageSize: domain.MaxPageLimit + 1},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := domain.NewDelivery[domain.MessageRef](d, d, cfg)
			requireKind(t, err, domain.KindInvalid)
		})
	}
	_, err := domain.NewDelivery[domain.MessageRef](nil, nil, domain.DeliveryConfig{})
	requireKind(t, err, domain.KindInvalid)
}
