package app_test

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/adapters/memory"
	"github.com/messenger-go/messenger/app"
	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
)

// pushed is one notification a fakePusher was given.
type pushed struct {
	device domain.Device
	n      domain.PushNotification
}

// fakePusher records notifications; fail, when set, answers each call.
type fakePusher struct {
	mu    sync.Mutex
	got   []pushed
	fail  func(d domain.Device) error
	calls int
}

func (p *fakePusher) Push(_ context.Context, d domain.Device, n domain.PushNotification) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls++
	if p.fail != nil {
		if err := p.fail(d); err != nil {
			return err
		}
	}
	p.got = append(p.got, pushed{d, n})
	return nil
}

func (p *fakePusher) notes() []pushed {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]pushed(nil), p.got...)
}

// total is the sum of the counts pushed to device d.
func total(ps []pushed, d domain.DeviceID) int {
	n := 0
	for _, p := range ps {
		if p.device.ID == d {
			n += p.n.Count
		}
	}
	return n
}

// pushWorld is a world with push on, through a fakePusher for webhook
// devices, and memory presence.
type pushWorld struct {
	*world
	presence *memory.Presence
	pusher   *fakePusher
}

func newPushWorld(t *testing.T, collapse time.Duration) *pushWorld {
	t.Helper()
	pw := &pushWorld{presence: memory.NewPresence(memory.PresenceConfig{}), pusher: &fakePusher{}}
	pw.world = newWorld(t, func(c *app.Config) {
		c.Devices = c.Users.(*memory.Store)
		c.Presence = pw.presence
		c.Push = app.Push{Pushers: map[domain.Platform]ports.Pusher{domain.PlatformWebhook: pw.pusher}, Collapse: collapse}
	})
	pw.run(t)
	return pw
}

func (w *pushWorld) device(t *testing.T, u domain.UserID, preview domain.Preview) domain.Device {
	t.Helper()
	d, err := w.app.RegisterDevice(t.Context(), u, domain.DeviceRegistration{Platform: domain.PlatformWebhook, Token: "tok-" + domain.NewUUID(), Preview: preview})
	require.NoError(t, err)
	return d
}

func (w *pushWorld) send(t *testing.T, from, to domain.UserID, text string) {
	t.Helper()
	_, err := w.app.SendMessage(t.Context(), domain.Draft{SenderID: from, ReceiverID: to, Text: text})
	require.NoError(t, err)
}

func TestPushCollapsesABurstForAnOfflineReceiver(t *testing.T) {
	const collapse = 3 * time.Second
	w := newPushWorld(t, collapse)
	alice, bob := w.user(t, "Alice"), w.user(t, "Bob")
	w.friends(t, alice, bob)
	phone := w.device(t, bob, "")

	for i := range 20 {
		w.send(t, alice, bob, "message "+strconv.Itoa(i))
		time.Sleep(100 * time.Millisecond) // 20 messages in 2 s
	}
	require.Eventually(t, func() bool { return total(w.pusher.notes(), phone.ID) >= 20 }, 3*collapse, 20*time.Millisecond)
	got := w.pusher.notes()
	assert.GreaterOrEqual(t, len(got), 1)
	assert.LessOrEqual(t, len(got), 3, "one notification per conversation per %v", collapse)
	assert.Equal(t, 20, total(got, phone.ID), "each message counted once")
	last := got[len(got)-1].n
	assert.Equal(t, domain.Sequence(20), last.LastSequence)
	assert.Equal(t, "Alice Test", last.SenderName)
	assert.Equal(t, alice, last.SenderID)
	assert.Empty(t, last.Text, "the default preview shows the sender only")
}

func TestPushTellsNothingToAnOnlineReceiver(t *testing.T) {
	const collapse = 300 * time.Millisecond
	w := newPushWorld(t, collapse)
	alice, bob := w.user(t, "Alice"), w.user(t, "Bob")
	w.friends(t, alice, bob)
	phone := w.device(t, bob, domain.PreviewText)
	require.NoError(t, w.presence.Register(t.Context(), bob, "node-1"))

	for i := range 5 {
		w.send(t, alice, bob, "hello "+strconv.Itoa(i))
	}
	require.Eventually(t, func() bool { return len(w.history(t, alice, bob)) == 5 }, 5*time.Second, 10*time.Millisecond)
	time.Sleep(3 * collapse)
	assert.Empty(t, w.pusher.notes(), "bob has a socket open")

	// The same pipeline tells bob once he is gone: it was running.
	require.NoError(t, w.presence.Unregister(t.Context(), bob, "node-1"))
	w.send(t, alice, bob, "are you there?")
	require.Eventually(t, func() bool { return total(w.pusher.notes(), phone.ID) == 1 }, 5*time.Second, 10*time.Millisecond)
	n := w.pusher.notes()[0].n
	assert.Equal(t, "are you there?", n.Text, "preview text")
	assert.Equal(t, domain.Sequence(6), n.LastSequence)
}

func TestPushShowsWhatEachDeviceAllows(t *testing.T) {
	w := newPushWorld(t, 100*time.Millisecond)
	alice, bob := w.user(t, "Alice"), w.user(t, "Bob")
	w.friends(t, alice, bob)
	none, text := w.device(t, bob, domain.PreviewNone), w.device(t, bob, domain.PreviewText)
	w.send(t, alice, bob, "secret plans")
	require.Eventually(t, func() bool { return len(w.pusher.notes()) == 2 }, 5*time.Second, 10*time.Millisecond)
	for _, p := range w.pusher.notes() {
		switch p.device.ID {
		case none.ID:
			assert.Equal(t, domain.PushNotification{ConversationID: p.n.ConversationID, Count: 1, LastSequence: 1, At: p.n.At}, p.n)
		case text.ID:
			assert.Equal(t, "secret plans", p.n.Text)
			assert.Equal(t, "Alice Test", p.n.SenderName)
		default:
			t.Errorf("pushed to an unknown device %s", p.device.ID)
		}
	}
}

func TestPushForgetsUnregisteredDevices(t *testing.T) {
	w := newPushWorld(t, 100*time.Millisecond)
	alice, bob := w.user(t, "Alice"), w.user(t, "Bob")
	w.friends(t, alice, bob)
	gone, kept := w.device(t, bob, ""), w.device(t, bob, "")
	w.pusher.fail = func(d domain.Device) error {
		if d.ID == gone.ID {
			return domain.Errorf(domain.KindNotFound, "unregistered")
		}
		return nil
	}
	w.send(t, alice, bob, "hi")
	require.Eventually(t, func() bool {
		devices, err := w.store.DevicesOf(t.Context(), []domain.UserID{bob})
		return err == nil && len(devices[bob]) == 1 && devices[bob][0].ID == kept.ID
	}, 5*time.Second, 10*time.Millisecond)
	assert.Equal(t, 1, total(w.pusher.notes(), kept.ID))
}

func TestDevicesGoWithTheAccount(t *testing.T) {
	w := newPushWorld(t, time.Second)
	bob := w.user(t, "Bob")
	d := w.device(t, bob, "")
	_, err := w.app.RegisterDevice(t.Context(), bob, domain.DeviceRegistration{Platform: "pager", Token: "x"})
	assert.Equal(t, domain.KindInvalid, domain.KindOf(err))
	require.NoError(t, w.app.DeleteAccount(t.Context(), bob, "long enough password"))
	devices, err := w.store.DevicesOf(t.Context(), []domain.UserID{bob})
	require.NoError(t, err)
	assert.Empty(t, devices)
	assert.Equal(t, domain.KindNotFound, domain.KindOf(w.app.RemoveDevice(t.Context(), bob, d.ID)))
}
