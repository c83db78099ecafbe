package server_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/messenger-go/messenger/client"
	"github.com/messenger-go/messenger/domain"
)

// benchDelivery is one in-process server of its own stack with bob online
// and senders who are his friends.
type benchDelivery struct {
	senders []*client.Client
	bob     domain.UserID
	socket  *client.Conn
}

func newBenchDelivery(b *testing.B, push bool, senders int) *benchDelivery {
	b.Helper()
	ctx := context.Background()
	s := newStack(b)
	s.env["MESSENGER_LOG_LEVEL"] = "warn"
	if push {
		hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }))
		b.Cleanup(hook.Close)
		s.env["MESSENGER_PUSH_WEBHOOK_URL"] = hook.URL
		s.env["MESSENGER_PUSH_WEBHOOK_SECRET"] = pushSecret
	}
	base := startServer(b, s.env)
	reg := func(name string) (*client.Client, client.Session) {
		c, sess, err := client.New(base, nil).Register(ctx, name, "Bench", fmt.Sprintf("%s.%d@example.com", name, time.Now().UnixNano()), "correct horse battery")
		if err != nil {
			b.Fatal(err)
		}
		return c, sess
	}
	bob, bs := reg("bob")
	d := &benchDelivery{bob: bs.User.ID}
	for i := range senders {
		c, cs := reg("sender" + strconv.Itoa(i))
		if _, err := c.SendFriendRequest(ctx, d.bob); err != nil {
			b.Fatal(err)
		}
		if _, err := bob.AcceptFriendRequest(ctx, cs.User.ID); err != nil {
			b.Fatal(err)
		}
		d.senders = append(d.senders, c)
	}
	var err error
	if d.socket, err = bob.Dial(ctx); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = d.socket.CloseNow() })
	if err := d.socket.Resume(ctx, nil); err != nil {
		b.Fatal(err)
	}
	return d
}

// phase sends n messages through the API from the senders in turn, at most
// 128 not yet read from bob's socket, and returns the messages per second
// from the first send to the last newMessage read.
func (d *benchDelivery) phase(b *testing.B, n int, tag string) float64 {
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
	for w, c := range d.senders {
		go func() {
			for i := w; i < n; i += len(d.senders) {
				inflight <- struct{}{}
				if _, err := c.Send(ctx, client.SendRequest{ReceiverID: d.bob, Message: "hello there", ClientMessageID: tag + "-" + strconv.Itoa(i)}); err != nil {
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

// BenchmarkPushOverheadRealStack is the root package's BenchmarkPushOverhead
// on PostgreSQL, Kafka and Redis: two in-process servers, each on a stack of
// its own, push on (the webhook configured, no device registered) and off,
// their phases alternating. Run it with -benchtime=1x.
func BenchmarkPushOverheadRealStack(b *testing.B) {
	const (
		perPhase = 2000
		rounds   = 5
	)
	off, on := newBenchDelivery(b, false, 16), newBenchDelivery(b, true, 16)
	off.phase(b, 300, "warm")
	on.phase(b, 300, "warm")
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
