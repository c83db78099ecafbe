package messenger_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strconv"
	"testing"
	"time"

	messenger "github.com/messenger-go/messenger"
	"github.com/messenger-go/messenger/adapters/auth"
	"github.com/messenger-go/messenger/app"
	"github.com/messenger-go/messenger/client"
	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
)

// idlePusher is a Pusher never called: no device is registered.
type idlePusher struct{}

func (idlePusher) Push(context.Context, domain.Device, domain.PushNotification) error { return nil }

// deliveryNode is an embedded node with bob online and senders who are his
// friends.
type deliveryNode struct {
	svc     ports.Service
	bob     domain.UserID
	senders []domain.UserID
	socket  *client.Conn
}

func newDeliveryNode(b *testing.B, push bool, senders int) *deliveryNode {
	b.Helper()
	ctx := context.Background()
	passwords, err := auth.NewPasswords(auth.PasswordConfig{Params: auth.TestPasswordParams})
	if err != nil {
		b.Fatal(err)
	}
	cfg := messenger.Config{Passwords: passwords, DisableWebClient: true}
	if push {
		cfg.Push = app.Push{Pushers: map[domain.Platform]ports.Pusher{domain.PlatformWebhook: idlePusher{}}}
	}
	node, err := messenger.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	go node.Run(runCtx)
	srv := httptest.NewServer(node.Handler())
	b.Cleanup(func() {
		cancel()
		_ = node.Shutdown(context.Background())
		srv.Close()
	})
	svc := node.Service()
	register := func(name string) ports.Session {
		s, err := svc.Register(ctx, domain.Registration{FirstName: name, LastName: "Bench",
			Email: name + "." + domain.NewUUID()[:8] + "@example.com", Password: "correct horse battery"}, netip.Addr{})
		if err != nil {
			b.Fatal(err)
		}
		return s
	}
	bob := register("bob")
	d := &deliveryNode{svc: svc, bob: bob.User.ID}
	for i := range senders {
		s := register("sender" + strconv.Itoa(i))
		if _, err := svc.SendFriendRequest(ctx, s.User.ID, d.bob); err != nil {
			b.Fatal(err)
		}
		if _, err := svc.AcceptFriendRequest(ctx, d.bob, s.User.ID); err != nil {
			b.Fatal(err)
		}
		d.senders = append(d.senders, s.User.ID)
	}
	if d.socket, err = client.New(srv.URL, nil).WithToken(bob.AccessToken).Dial(ctx); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = d.socket.CloseNow() })
	if err := d.socket.Resume(ctx, nil); err != nil {
		b.Fatal(err)
	}
	return d
}

// phase sends n messages from the senders in turn, at most 128 not yet
// received by bob's socket, and returns the messages per second from the
// first send to the last newMessage read.
func (d *deliveryNode) phase(b *testing.B, n int, tag string) float64 {
	b.Helper()
	ctx := context.Background()
	inflight := make(chan struct{}, 128)
	done := make(chan error, 1)
	go func() {
		for got := 0; got < n; {
			f, err := d.socket.Next(ctx)
			if err != nil {
				done <- err
				return
			}
			if f.Event == domain.EventNewMessage {
				<-inflight
				got++
			}
		}
		done <- nil
	}()
	start := time.Now()
	errs := make(chan error, len(d.senders))
	for w, sender := range d.senders {
		go func() {
			for i := w; i < n; i += len(d.senders) {
				inflight <- struct{}{}
				if _, err := d.svc.SendMessage(ctx, domain.Draft{SenderID: sender, ReceiverID: d.bob, Text: "hello there",
					ClientMessageID: tag + "-" + strconv.Itoa(i)}); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range d.senders {
		if err := <-errs; err != nil {
			b.Fatal(err)
		}
	}
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	return float64(n) / time.Since(start).Seconds()
}

// BenchmarkPushOverhead measures the delivery path of the embedded node,
// send to newMessage on the receiver's socket, with push on and no device
// registered against push off: two nodes in one process, their phases
// alternating so the machine's other work weighs on both alike. It reports
// each side's median messages per second; the phases are logged with -v.
// Run it with -benchtime=1x.
func BenchmarkPushOverhead(b *testing.B) {
	const (
		perPhase = 3000
		rounds   = 5
	)
	off, on := newDeliveryNode(b, false, 8), newDeliveryNode(b, true, 8)
	off.phase(b, 500, "warm") // first use of every partition and member
	on.phase(b, 500, "warm")
	b.ResetTimer()
	for it := range b.N {
		var offs, ons []float64
		for r := range rounds {
			tag := fmt.Sprintf("%d-%d", it, r)
			offs = append(offs, off.phase(b, perPhase, tag))
			ons = append(ons, on.phase(b, perPhase, tag))
		}
		slices.Sort(offs)
		slices.Sort(ons)
		b.Logf("push off msg/s: %.0f", offs)
		b.Logf("push on, no devices, msg/s: %.0f", ons)
		b.ReportMetric(offs[len(offs)/2], "off-msg/s")
		b.ReportMetric(ons[len(ons)/2], "on-msg/s")
	}
}
