package redis_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
	"github.com/messenger-go/messenger/ports/portstest"
)

// The fan-out is the Notifier of a cluster: the contract runs on node a's
// Fanout, over real Redis, with devices placed in turn on a (served by its
// local hub) and on node b (reached through b's subscription).
func TestFanoutNotifierContract(t *testing.T) {
	portstest.RunNotifier(t, func(t *testing.T) (ports.Notifier, portstest.Devices) {
		e := redisEnv(t)
		devs := &nodeDevices{hubs: [2]*deviceHub{newDeviceHub(), newDeviceHub()}}
		devs.nodes[0] = runNode(t, e, "a", devs.hubs[0])
		devs.nodes[1] = runNode(t, e, "b", devs.hubs[1])
		devs.untilSubscribed(t)
		return devs.nodes[0].fanout, devs
	})
}

// nodeDevices opens the contract's devices on two nodes, alternately.
type nodeDevices struct {
	nodes  [2]*node
	hubs   [2]*deviceHub
	opened int
}

func (d *nodeDevices) Connect(t *testing.T, user domain.UserID) portstest.Device {
	return d.open(t, user, 1024)
}

// ConnectStalled opens a device whose queue is never read: once its 16 places
// are taken, its hub drops it, as the WebSocket hub drops a slow socket.
func (d *nodeDevices) ConnectStalled(t *testing.T, user domain.UserID) {
	d.open(t, user, 16)
}

// open adds a device of user to the hub of the next node and records in
// presence that the node holds a socket of user.
func (d *nodeDevices) open(t *testing.T, user domain.UserID, queue int) *fakeDevice {
	t.Helper()
	i := d.opened % len(d.nodes)
	d.opened++
	dev := d.hubs[i].add(user, queue)
	require.NoError(t, d.nodes[i].presence.Register(t.Context(), user, d.nodes[i].id))
	return dev
}

// untilSubscribed sends probes from node a to a device on node b until one
// arrives, which proves b's subscription is live.
func (d *nodeDevices) untilSubscribed(t *testing.T) {
	t.Helper()
	probeUser := domain.NewUserID()
	dev := d.hubs[1].add(probeUser, 1024)
	require.NoError(t, d.nodes[1].presence.Register(t.Context(), probeUser, d.nodes[1].id))
	deadline := time.Now().Add(5 * time.Second)
	for i := 0; time.Now().Before(deadline); i++ {
		require.NoError(t, d.nodes[0].fanout.Notify(t.Context(), []domain.UserID{probeUser}, probe(i)))
		ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
		_, err := dev.Next(ctx)
		cancel()
		if err == nil {
			return
		}
	}
	t.Fatal("node b's subscription did not come up")
}

// deviceHub is a fake WebSocket hub with devices: like the real one, it
// encodes an event once and offers it to every device of each user without
// waiting, and drops a device whose queue is full.
type deviceHub struct {
	mu      sync.Mutex
	devices map[domain.UserID][]*fakeDevice
}

func newDeviceHub() *deviceHub {
	return &deviceHub{devices: make(map[domain.UserID][]*fakeDevice)}
}

// add connects a device of user with room for queue events.
func (h *deviceHub) add(user domain.UserID, queue int) *fakeDevice {
	d := &fakeDevice{events: make(chan portstest.Delivered, queue)}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.devices[user] = append(h.devices[user], d)
	return d
}

func (h *deviceHub) Notify(_ context.Context, users []domain.UserID, ev domain.Event) error {
	data, err := json.Marshal(ev.Data)
	if err != nil {
		return domain.Wrap(domain.KindInvalid, err, "event does not encode as JSON") // as the hub does
	}
	got := portstest.Delivered{Event: ev.Name, Data: data}
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, u := range users {
		kept := h.devices[u][:0]
		for _, d := range h.devices[u] {
			select {
			case d.events <- got:
				kept = append(kept, d)
			default: // full: dropped, as a slow socket is
			}
		}
		h.devices[u] = kept
	}
	return nil
}

// fakeDevice is one device: the events its hub queued for it.
type fakeDevice struct {
	events chan portstest.Delivered
}

func (d *fakeDevice) Next(ctx context.Context) (portstest.Delivered, error) {
	select {
	case got := <-d.events:
		return got, nil
	case <-ctx.Done():
		return portstest.Delivered{}, ctx.Err()
	}
}
