package server_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/client"
	"github.com/messenger-go/messenger/domain"
)

// BenchmarkFlood measures what one abusive client costs an honest one, on the
// embedded default with the production password hashing: the honest
// client's login, send (202) and delivery (send to newMessage on the
// receiver's socket) p99, first alone, then while one attacker floods bad
// logins, typing frames at the honest receiver (a friend of the attacker,
// reconnecting each time it is closed) and slow request bodies, each alone
// and all at once (the sub-benchmarks). Phases alone and flooded alternate,
// floodRounds of each, so that whatever else the machine runs weighs on both
// alike; a flooded phase starts once every part of the attack runs in its
// steady state (the attacker's logins are throttled, a flooding socket has
// been closed). It reports the p99s over every round and the flooded/alone
// ratio of each; docs/security.md has the table. Run it with
//
//	go test -run '^$' -bench Flood/all -benchtime 1x -count 3 ./internal/server
func BenchmarkFlood(b *testing.B) {
	for _, bb := range []struct {
		name  string
		parts attackParts
	}{
		{"logins", attackLogins},
		{"typing", attackTyping},
		{"slow", attackSlow},
		{"all", attackLogins | attackTyping | attackSlow},
	} {
		b.Run(bb.name, func(b *testing.B) { benchmarkFlood(b, bb.parts) })
	}
}

func benchmarkFlood(b *testing.B, parts attackParts) {
	for range b.N {
		base := startServer(b, map[string]string{
			"MESSENGER_PASSWORD_MEMORY_KIB": "19456",
			"MESSENGER_PASSWORD_ITERATIONS": "2",
			"MESSENGER_TRUSTED_PROXIES":     "127.0.0.1",
		})
		f := newFlood(b, base)
		var alone, flooded samples
		var attacks attacks
		for range floodRounds {
			alone.add(f.honest(b))
			stop := f.attack(b, parts)
			flooded.add(f.honest(b))
			attacks.add(stop())
		}

		for _, m := range []struct {
			name          string
			alone, loaded []time.Duration
		}{
			{"login", alone.logins, flooded.logins},
			{"send", alone.sends, flooded.sends},
			{"delivery", alone.deliveries, flooded.deliveries},
		} {
			a, l := p99(m.alone), p99(m.loaded)
			b.ReportMetric(ms(a), m.name+"-p99-alone-ms")
			b.ReportMetric(ms(l), m.name+"-p99-flood-ms")
			b.ReportMetric(float64(l)/float64(a), m.name+"-ratio")
		}
		b.ReportMetric(float64(attacks.logins), "attack-logins")
		b.ReportMetric(float64(attacks.frames), "attack-typing-frames")
		b.ReportMetric(float64(attacks.sockets), "attack-sockets")
		b.ReportMetric(float64(attacks.slow), "attack-slow-bodies")
	}
}

// Workload of the honest client in each phase: sends paced under the send
// rate limit, logins one after the other beside them.
const (
	floodRounds   = 8
	floodSends    = 60
	floodSendGap  = 25 * time.Millisecond
	floodLogins   = 8
	floodAttempts = 4   // connections of bad logins
	floodPipeline = 50  // requests or frames the attacker writes at once
	floodSlow     = 200 // connections trickling a body
)

// flood is the benchmark's world: the honest sender (alice), her receiver
// (bob), and the attacker (mallory), a friend of bob.
type flood struct {
	base                 string
	alice, bob, mallory  *client.Client
	aliceEmail, password string
	bobID                domain.UserID
	arrived              sync.Map     // clientMessageId -> time its newMessage reached bob
	bobGone              atomic.Value // the error that ended bob's socket
}

// fromAddress is an HTTP client whose requests come, for the server's
// per-address limits, from addr (through the trusted proxy, loopback).
func fromAddress(addr string) *http.Client {
	return &http.Client{Transport: roundTripper(func(r *http.Request) (*http.Response, error) {
		r = r.Clone(r.Context())
		r.Header.Set("X-Forwarded-For", addr)
		return http.DefaultTransport.RoundTrip(r)
	})}
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func newFlood(tb testing.TB, base string) *flood {
	tb.Helper()
	ctx := context.Background()
	f := &flood{base: base, password: "correct horse battery"}
	reg := func(first, addr string) (*client.Client, client.Session) {
		email := fmt.Sprintf("%s.%d@example.com", strings.ToLower(first), time.Now().UnixNano())
		c, s, err := client.New(base, fromAddress(addr)).Register(ctx, first, "Bench", email, f.password)
		require.NoError(tb, err)
		return c, s
	}
	var as, bs, ms client.Session
	f.alice, as = reg("Alice", "10.0.0.1")
	f.bob, bs = reg("Bob", "10.0.0.2")
	f.mallory, ms = reg("Mallory", "10.0.0.66")
	f.aliceEmail, f.bobID = as.User.Email, bs.User.ID
	for _, friend := range []struct {
		c  *client.Client
		id domain.UserID
	}{{f.alice, as.User.ID}, {f.mallory, ms.User.ID}} {
		_, err := friend.c.SendFriendRequest(ctx, f.bobID)
		require.NoError(tb, err)
		_, err = f.bob.AcceptFriendRequest(ctx, friend.id)
		require.NoError(tb, err)
	}

	conn, err := f.bob.Dial(ctx)
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = conn.CloseNow() })
	// Once registered is read, the socket gets every later message.
	first, err := conn.Next(ctx)
	require.NoError(tb, err)
	require.Equal(tb, domain.EventRegistered, first.Event)
	go func() {
		for {
			fr, err := conn.Next(context.Background())
			if err != nil {
				f.bobGone.Store(err)
				return
			}
			if fr.Event != domain.EventNewMessage {
				continue
			}
			var m domain.Message
			if fr.Decode(&m) == nil {
				f.arrived.Store(m.ClientMessageID, time.Now())
			}
		}
	}()
	return f
}

// samples are latencies of the honest client.
type samples struct {
	logins, sends, deliveries []time.Duration
}

func (s *samples) add(o samples) {
	s.logins = append(s.logins, o.logins...)
	s.sends = append(s.sends, o.sends...)
	s.deliveries = append(s.deliveries, o.deliveries...)
}

var phase atomic.Int64

// honest runs the honest client's workload once and returns its latencies.
func (f *flood) honest(tb testing.TB) samples {
	tb.Helper()
	ctx := context.Background()
	var s samples
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		c := client.New(f.base, fromAddress("10.0.0.1"))
		for range floodLogins {
			start := time.Now()
			_, _, err := c.Login(ctx, f.aliceEmail, f.password)
			if err != nil {
				tb.Errorf("honest login: %v", err)
				return
			}
			s.logins = append(s.logins, time.Since(start))
		}
	}()
	p := phase.Add(1)
	starts := make(map[string]time.Time, floodSends)
	for i := range floodSends {
		cid := fmt.Sprintf("flood-%d-%d-%d", time.Now().UnixNano(), p, i)
		start := time.Now()
		_, err := f.alice.Send(ctx, client.SendRequest{ReceiverID: f.bobID, Message: "hello", ClientMessageID: cid})
		require.NoError(tb, err)
		s.sends = append(s.sends, time.Since(start))
		starts[cid] = start
		time.Sleep(floodSendGap - time.Since(start))
	}
	wg.Wait()
	deadline := time.Now().Add(30 * time.Second)
	for cid, start := range starts {
		for {
			if at, ok := f.arrived.Load(cid); ok {
				s.deliveries = append(s.deliveries, at.(time.Time).Sub(start))
				break
			}
			require.True(tb, time.Now().Before(deadline), "message %s not delivered; bob's socket ended: %v", cid, f.bobGone.Load())
			time.Sleep(5 * time.Millisecond)
		}
	}
	return s
}

// attacks counts what the attacker sent.
type attacks struct {
	logins, frames, sockets, slow int64
}

func (a *attacks) add(o attacks) {
	a.logins += o.logins
	a.frames += o.frames
	a.sockets += o.sockets
	a.slow += o.slow
}

// attackParts selects the parts of an attack.
type attackParts int

const (
	attackLogins attackParts = 1 << iota
	attackTyping
	attackSlow
)

// attack starts the parts of the attacker and returns the function that
// stops it and says what it sent. It returns once every part runs in its
// steady state.
func (f *flood) attack(tb testing.TB, parts attackParts) func() attacks {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var n struct{ logins, throttled, frames, sockets, slow atomic.Int64 }

	// The attacker's requests and frames are built once and written in
	// batches, one call each, over raw connections, as an efficient attacker
	// would: its own costs are on its machine, not the server's, and here
	// they share the server's cores.
	addr := strings.TrimPrefix(f.base, "http://")

	// Bad logins, from one address, to accounts that do not exist,
	// pipelined.
	for g := range floodAttempts * min(int(parts&attackLogins), 1) {
		var batch strings.Builder
		for i := range floodPipeline {
			body := fmt.Sprintf(`{"email":"victim%d.%d@example.com","password":"guess"}`, g, i)
			fmt.Fprintf(&batch, "POST /auth/login HTTP/1.1\r\nHost: %s\r\nX-Forwarded-For: 10.0.0.66\r\n"+
				"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", addr, len(body), body)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
				if err != nil {
					continue
				}
				// The answers are held back: stopping must not wait for them.
				stop := context.AfterFunc(ctx, func() { conn.Close() })
				br := bufio.NewReader(conn)
				for ctx.Err() == nil {
					if _, err := conn.Write([]byte(batch.String())); err != nil {
						break
					}
					ok := true
					for range floodPipeline {
						resp, err := http.ReadResponse(br, nil)
						if err != nil {
							ok = false
							break
						}
						_, _ = io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						n.logins.Add(1)
						if resp.StatusCode == http.StatusTooManyRequests {
							n.throttled.Add(1)
						}
					}
					if !ok {
						break
					}
				}
				stop()
				conn.Close()
			}
		}()
	}

	// Typing frames at bob: the upgrade by hand, then batches of frames
	// masked with a zero key; a socket the server closes is opened again.
	payload := `{"event":"typing","data":{"receiverId":"` + string(f.bobID) + `","isTyping":true}}`
	require.Less(tb, len(payload), 126, "one length byte")
	frame := append([]byte{0x81, 0x80 | byte(len(payload)), 0, 0, 0, 0}, payload...)
	frames := bytes.Repeat(frame, floodPipeline)
	upgrade := "GET /ws HTTP/1.1\r\nHost: " + addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" +
		"Authorization: Bearer " + f.mallory.Token() + "\r\n\r\n"
	wg.Add(1)
	go func() {
		defer wg.Done()
		for ctx.Err() == nil && parts&attackTyping != 0 {
			conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
			if err != nil {
				continue
			}
			// What the attacker's kernel buffers is its own cost; on one
			// machine it would be the server's.
			_ = conn.(*net.TCPConn).SetWriteBuffer(64 << 10)
			br := bufio.NewReader(conn)
			_, err = conn.Write([]byte(upgrade))
			var resp *http.Response
			if err == nil {
				resp, err = http.ReadResponse(br, nil)
			}
			if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
				conn.Close()
				continue
			}
			n.sockets.Add(1)
			go func() { _, _ = io.Copy(io.Discard, br) }() // what the server sends, to its close
			for ctx.Err() == nil {
				if _, err := conn.Write(frames); err != nil {
					break
				}
				n.frames.Add(floodPipeline)
			}
			conn.Close()
		}
	}()

	// Slow bodies: sends whose bodies trickle in a byte at a time.
	head := "POST /messages/send HTTP/1.1\r\nHost: " + addr + "\r\nAuthorization: Bearer " + f.mallory.Token() +
		"\r\nContent-Type: application/json\r\nContent-Length: 60000\r\n\r\n"
	var opened sync.WaitGroup
	for range floodSlow * min(int(parts&attackSlow), 1) {
		wg.Add(1)
		opened.Add(1)
		go func() {
			defer wg.Done()
			var d net.Dialer
			conn, err := d.DialContext(ctx, "tcp", addr)
			if err != nil {
				opened.Done()
				return
			}
			defer conn.Close()
			_, err = conn.Write([]byte(head + "{"))
			opened.Done()
			if err != nil {
				return
			}
			n.slow.Add(1)
			t := time.NewTicker(100 * time.Millisecond)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
					if _, err := conn.Write([]byte(" ")); err != nil {
						return
					}
				}
			}
		}()
	}
	opened.Wait()
	for (parts&attackTyping != 0 && n.sockets.Load() < 2) || (parts&attackLogins != 0 && n.throttled.Load() == 0) {
		time.Sleep(time.Millisecond)
	}
	return func() attacks {
		cancel()
		wg.Wait()
		return attacks{logins: n.logins.Load(), frames: n.frames.Load(), sockets: n.sockets.Load(), slow: n.slow.Load()}
	}
}

// p99 is the 99th percentile of d (nearest rank).
func p99(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[(len(s)*99+99)/100-1]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
