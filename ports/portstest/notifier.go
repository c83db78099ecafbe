package portstest

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
)

// Devices is the observation point of RunNotifier: it opens devices (sockets)
// that the Notifier under test delivers to, wherever the implementation puts
// them (a hub's own sockets, or sockets on other nodes behind a fan-out).
type Devices interface {
	// Connect opens a device of user and returns it once the Notifier reaches
	// it. A user may have several devices, not necessarily on one node. A
	// device must take bursts of 200 small events sent without a pause while
	// the suite reads them.
	Connect(t *testing.T, user domain.UserID) Device
	// ConnectStalled opens a device of user that takes nothing it is sent, as
	// a client too slow for its queue. The suite sends it floodEvents events
	// of floodEventBytes each; everything that holds them on the way (queues,
	// socket buffers) must fill up well before, so that the flood reaches the
	// implementation's overflow policy.
	ConnectStalled(t *testing.T, user domain.UserID)
}

// The flood a stalled device gets: 1.6 MB.
const (
	floodEvents     = 400
	floodEventBytes = 4 << 10
)

// Device is one connected device of a user, as a client sees it.
type Device interface {
	// Next returns the next event that reached the device, waiting until ctx
	// ends (then it returns an error).
	Next(ctx context.Context) (Delivered, error)
}

// Delivered is an event as it reached a device: its name and its data as
// JSON.
type Delivered struct {
	Event string
	Data  json.RawMessage
}

// eventName is the name of the events RunNotifier sends. A Notifier carries
// any name; the suite's own keeps its events apart from what a device gets
// on its own (a hub's greeting, say), which the Device must not return.
const eventName = "notifierContract"

// nextTimeout bounds the wait for one event, which on a healthy local setup
// arrives in milliseconds.
const nextTimeout = 10 * time.Second

// RunNotifier runs the contract of ports.Notifier (and of ports.BatchNotifier
// when the implementation is one). newNotifier returns a fresh Notifier and
// the Devices it delivers to.
func RunNotifier(t *testing.T, newNotifier func(t *testing.T) (ports.Notifier, Devices)) {
	t.Run("every device of each target user gets the event once, other users nothing", func(t *testing.T) {
		n, devs := newNotifier(t)
		a, b, other := domain.NewUserID(), domain.NewUserID(), domain.NewUserID()
		a1, a2, b1, o := devs.Connect(t, a), devs.Connect(t, a), devs.Connect(t, b), devs.Connect(t, other)

		notify(t, n, []domain.UserID{a, b}, probeEvent("first", 1))
		for name, d := range map[string]Device{"a1": a1, "a2": a2, "b1": b1} {
			expect(t, d, probeEvent("first", 1), name)
		}
		// The bystander's next event is the one addressed to it, and the
		// targets' next is the next one sent: nothing else came between.
		notify(t, n, []domain.UserID{other}, probeEvent("bystander", 2))
		expect(t, o, probeEvent("bystander", 2), "the bystander")
		notify(t, n, []domain.UserID{a, b}, probeEvent("second", 3))
		for name, d := range map[string]Device{"a1": a1, "a2": a2, "b1": b1} {
			expect(t, d, probeEvent("second", 3), name+", without a duplicate of the first")
		}
	})

	t.Run("the event is encoded as JSON, whatever its data", func(t *testing.T) {
		n, devs := newNotifier(t)
		u := domain.NewUserID()
		d := devs.Connect(t, u)
		ev := domain.Event{Name: eventName, Data: map[string]any{
			"text":   "héllo <b>&</b> \u2028 \"quoted\" 👋",
			"nested": []any{1.5, nil, true, map[string]any{"k": "v"}},
		}}
		notify(t, n, []domain.UserID{u}, ev)
		expect(t, d, ev, "")
		raw := domain.Event{Name: eventName, Data: json.RawMessage(`{"already":"encoded"}`)}
		notify(t, n, []domain.UserID{u}, raw)
		expect(t, d, raw, "data already encoded goes as it is")
	})

	t.Run("no users is not an error", func(t *testing.T) {
		n, _ := newNotifier(t)
		require.NoError(t, n.Notify(t.Context(), nil, probeEvent("nobody", 0)))
	})

	t.Run("a user without devices is skipped, and the event is not kept for later", func(t *testing.T) {
		n, devs := newNotifier(t)
		u, online := domain.NewUserID(), domain.NewUserID()
		d := devs.Connect(t, online)
		notify(t, n, []domain.UserID{u, online}, probeEvent("while offline", 1))
		expect(t, d, probeEvent("while offline", 1), "the user who is online")

		later := devs.Connect(t, u)
		notify(t, n, []domain.UserID{u}, probeEvent("once online", 2))
		expect(t, later, probeEvent("once online", 2), "the device opened later gets only what came after")
	})

	t.Run("events to one user from one caller arrive in call order", func(t *testing.T) {
		n, devs := newNotifier(t)
		a, b := domain.NewUserID(), domain.NewUserID()
		devices := []Device{devs.Connect(t, a), devs.Connect(t, a), devs.Connect(t, b)}
		const count = 100
		for i := range count {
			notify(t, n, []domain.UserID{a, b}, probeEvent("ordered", i))
		}
		for i := range count {
			for k, d := range devices {
				expect(t, d, probeEvent("ordered", i), fmt.Sprintf("device %d", k))
			}
		}
	})

	t.Run("concurrent callers: each caller's events arrive in its order", func(t *testing.T) {
		n, devs := newNotifier(t)
		u := domain.NewUserID()
		d1, d2 := devs.Connect(t, u), devs.Connect(t, u)
		const callers, each = 4, 50
		var wg sync.WaitGroup
		errs := make([]error, callers)
		for c := range callers {
			wg.Go(func() {
				for i := range each {
					if err := n.Notify(context.Background(), []domain.UserID{u}, callerEvent(c, i)); err != nil {
						errs[c] = err
						return
					}
				}
			})
		}
		devices := []Device{d1, d2}
		next := make([][callers]int, len(devices)) // per device, each caller's next event
		for range callers * each {
			for k, d := range devices {
				got := nextEvent(t, d)
				var p struct{ Caller, I int }
				require.NoError(t, json.Unmarshal(got.Data, &p), "device %d got %s", k, got.Data)
				require.True(t, p.Caller >= 0 && p.Caller < callers, "device %d got %s", k, got.Data)
				require.Equal(t, next[k][p.Caller], p.I, "device %d: caller %d's events out of order", k, p.Caller)
				next[k][p.Caller]++
			}
		}
		wg.Wait()
		for c, err := range errs {
			require.NoError(t, err, "caller %d", c)
		}
	})

	t.Run("an event that does not encode fails with KindInvalid and reaches nobody", func(t *testing.T) {
		n, devs := newNotifier(t)
		u := domain.NewUserID()
		d := devs.Connect(t, u)
		err := n.Notify(t.Context(), []domain.UserID{u}, domain.Event{Name: eventName, Data: make(chan int)})
		errorKind(t, domain.KindInvalid, err)
		notify(t, n, []domain.UserID{u}, probeEvent("after", 1))
		expect(t, d, probeEvent("after", 1), "the next event is the next one that encodes")
	})

	t.Run("a device that takes nothing blocks neither Notify nor the other devices", func(t *testing.T) {
		n, devs := newNotifier(t)
		slow, fast := domain.NewUserID(), domain.NewUserID()
		devs.ConnectStalled(t, slow)
		sibling := devs.Connect(t, slow) // the stalled device's user on another device
		other := devs.Connect(t, fast)
		pad := strings.Repeat("x", floodEventBytes)
		for i := range floodEvents {
			ev := domain.Event{Name: eventName, Data: map[string]any{"label": "flood", "i": i, "pad": pad}}
			notifyWithin(t, n, []domain.UserID{slow, fast}, ev)
			expect(t, sibling, ev, "the stalled device's sibling")
			expect(t, other, ev, "another user's device")
		}
	})

	t.Run("a batch is delivered as Notify called for each notification in order, when supported", func(t *testing.T) {
		n, devs := newNotifier(t)
		bn, ok := n.(ports.BatchNotifier)
		if !ok {
			return // an optional interface: nothing to check
		}
		a, b, offline := domain.NewUserID(), domain.NewUserID(), domain.NewUserID()
		da, db := devs.Connect(t, a), devs.Connect(t, b)
		notify(t, n, []domain.UserID{a, b}, probeEvent("before the batch", 0))
		batch := []ports.Notification{
			{Users: []domain.UserID{a, b}, Event: probeEvent("batch", 1)},
			{Users: []domain.UserID{b}, Event: probeEvent("batch", 2)},
			{Users: nil, Event: probeEvent("batch", 3)},
			{Users: []domain.UserID{offline, a}, Event: probeEvent("batch", 4)},
		}
		require.NoError(t, bn.NotifyBatch(t.Context(), batch))
		for _, want := range []domain.Event{probeEvent("before the batch", 0), probeEvent("batch", 1), probeEvent("batch", 4)} {
			expect(t, da, want, "a")
		}
		for _, want := range []domain.Event{probeEvent("before the batch", 0), probeEvent("batch", 1), probeEvent("batch", 2)} {
			expect(t, db, want, "b")
		}

		// One notification that does not encode fails with KindInvalid; the
		// others still go, in order.
		err := bn.NotifyBatch(t.Context(), []ports.Notification{
			{Users: []domain.UserID{a}, Event: probeEvent("around", 5)},
			{Users: []domain.UserID{a}, Event: domain.Event{Name: eventName, Data: make(chan int)}},
			{Users: []domain.UserID{a}, Event: probeEvent("around", 6)},
		})
		errorKind(t, domain.KindInvalid, err)
		expect(t, da, probeEvent("around", 5), "a")
		expect(t, da, probeEvent("around", 6), "a, after the one that does not encode")
	})
}

// probeEvent is a small event the suite recognises by label and number.
func probeEvent(label string, i int) domain.Event {
	return domain.Event{Name: eventName, Data: map[string]any{"label": label, "i": i}}
}

// callerEvent is the i-th event of caller c.
func callerEvent(c, i int) domain.Event {
	return domain.Event{Name: eventName, Data: map[string]int{"caller": c, "i": i}}
}

// notify sends ev to users and requires it to succeed.
func notify(t *testing.T, n ports.Notifier, users []domain.UserID, ev domain.Event) {
	t.Helper()
	require.NoError(t, n.Notify(t.Context(), users, ev))
}

// notifyWithin is notify for a call that must return although a device takes
// nothing: it fails the test, instead of hanging, when the call blocks.
func notifyWithin(t *testing.T, n ports.Notifier, users []domain.UserID, ev domain.Event) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- n.Notify(context.Background(), users, ev) }()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(nextTimeout):
		t.Fatal("Notify blocked on a device that takes nothing")
	}
}

// nextEvent returns d's next event.
func nextEvent(t *testing.T, d Device) Delivered {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), nextTimeout)
	defer cancel()
	got, err := d.Next(ctx)
	require.NoError(t, err, "no event reached the device")
	return got
}

// expect requires d's next event to be want, encoded as JSON.
func expect(t *testing.T, d Device, want domain.Event, what string) {
	t.Helper()
	got := nextEvent(t, d)
	data, err := json.Marshal(want.Data)
	require.NoError(t, err)
	require.Equal(t, want.Name, got.Event, what)
	require.JSONEq(t, string(data), string(got.Data), what)
}
