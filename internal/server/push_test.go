package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/adapters/webhook"
	"github.com/messenger-go/messenger/client"
	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/internal/server"
)

const pushSecret = "push-test-secret-of-enough-bytes"

// hookCall is one call the push receiver got, as it came.
type hookCall struct {
	header http.Header
	body   []byte
	call   webhook.Call
	status int
}

// pushReceiver is the deployment's push gateway: it checks each call with
// the verifier of docs/push.md and answers 500 to the first call.
type pushReceiver struct {
	verifier *webhook.Verifier
	mu       sync.Mutex
	calls    []hookCall
	refused  []error
}

func (r *pushReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	header := req.Header.Clone()
	body, err := r.verifier.Verify(req)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		r.refused = append(r.refused, err)
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	c := hookCall{header: header, body: body, status: http.StatusNoContent}
	if err := json.Unmarshal(body, &c.call); err != nil {
		r.refused = append(r.refused, err)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	if len(r.calls) == 0 {
		c.status = http.StatusInternalServerError
	}
	r.calls = append(r.calls, c)
	w.WriteHeader(c.status)
}

func (r *pushReceiver) snapshot() ([]hookCall, []error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]hookCall(nil), r.calls...), append([]error(nil), r.refused...)
}

// told sums the counts of the calls answered 2xx, and counts them.
func told(calls []hookCall) (messages, notifications int) {
	for _, c := range calls {
		if c.status < 300 {
			messages += c.call.Notification.Count
			notifications++
		}
	}
	return messages, notifications
}

// TestPushOnTheRealStack runs two nodes on PostgreSQL, Kafka and Redis with
// the signed webhook on: while bob has a socket open on node 2 nothing is
// pushed for alice's messages through node 1; once he is gone, 20 messages
// in 2 s are told in one to three signed calls whose counts add up to 20,
// the first call is retried after its 500, and a replayed call is refused
// by the verifier.
func TestPushOnTheRealStack(t *testing.T) {
	const collapse = 3 * time.Second
	recv := &pushReceiver{verifier: &webhook.Verifier{Secret: []byte(pushSecret)}}
	hook := httptest.NewServer(recv)
	t.Cleanup(hook.Close)

	s := newStack(t)
	s.env["MESSENGER_PUSH_WEBHOOK_URL"] = hook.URL + "/push"
	s.env["MESSENGER_PUSH_WEBHOOK_SECRET"] = pushSecret
	s.env["MESSENGER_PUSH_COLLAPSE"] = collapse.String()
	n1, n2 := s.start(t, "node-1"), s.start(t, "node-2")
	alice, bob := register(t, n1.base, "Alice"), register(t, n2.base, "Bob")
	befriend(t, alice, bob)
	ctx := context.Background()

	var dev struct {
		DeviceID domain.DeviceID `json:"deviceId"`
		Preview  domain.Preview  `json:"preview"`
	}
	require.NoError(t, bob.Do(ctx, "POST", "/devices", map[string]string{"platform": "webhook", "token": "bob-phone"}, &dev))
	require.Equal(t, domain.PreviewSender, dev.Preview)

	// send starts a send every 100 ms, without waiting for the answers (a
	// send takes up to a few hundred ms on a busy machine), then waits for
	// them all.
	send := func(n int, text string) {
		errs := make(chan error, n)
		for i := range n {
			go func() {
				_, err := alice.Send(ctx, client.SendRequest{ReceiverID: bob.id, Message: text + " " + strconv.Itoa(i)})
				errs <- err
			}()
			time.Sleep(100 * time.Millisecond)
		}
		for range n {
			require.NoError(t, <-errs)
		}
	}

	// Online on node 2: nothing is pushed.
	bob.connect(t, n2.base)
	send(5, "while online")
	bob.messages(t, 5)
	require.Eventually(t, func() bool { return receiverOnline(t, n1)+receiverOnline(t, n2) == 5 }, 30*time.Second, 50*time.Millisecond,
		"the push group has seen the 5 messages and bob online")
	time.Sleep(collapse) // a notification would have been sent by now, were it due
	calls, refused := recv.snapshot()
	require.Empty(t, calls, "bob has a socket open")
	require.Empty(t, refused)

	bob.disconnect(t)
	require.Eventually(t, func() bool {
		var list struct {
			Friends []domain.Friend `json:"friends"`
		}
		return alice.Do(ctx, "GET", "/friends/list", nil, &list) == nil && len(list.Friends) == 1 && !list.Friends[0].Online
	}, 15*time.Second, 50*time.Millisecond, "bob's presence is gone")

	send(20, "while offline")
	require.Eventually(t, func() bool {
		calls, _ := recv.snapshot()
		n, _ := told(calls)
		return n >= 20
	}, 30*time.Second, 50*time.Millisecond, "bob's device is told of the 20 messages")
	time.Sleep(collapse) // a late extra notification would show now

	calls, refused = recv.snapshot()
	assert.Empty(t, refused, "every call verifies")
	messages, notifications := told(calls)
	assert.Equal(t, 20, messages, "the counts add up to the messages")
	assert.GreaterOrEqual(t, notifications, 1)
	assert.LessOrEqual(t, notifications, 3)
	require.GreaterOrEqual(t, len(calls), 2)
	assert.Equal(t, http.StatusInternalServerError, calls[0].status)
	assert.Equal(t, calls[0].call.ID, calls[1].call.ID, "the failed call is retried")
	assert.Equal(t, 2, calls[1].call.Attempt)
	last := calls[len(calls)-1].call
	assert.Equal(t, "bob-phone", last.Token)
	assert.Equal(t, dev.DeviceID, last.DeviceID)
	assert.Equal(t, domain.Sequence(25), last.Notification.LastSequence)
	assert.Equal(t, "Alice Tester", last.Notification.SenderName)
	assert.Empty(t, last.Notification.Text, "the default preview shows the sender only")

	// A captured call sent again is refused.
	replay, err := http.NewRequest("POST", hook.URL+"/push", bytes.NewReader(calls[1].body))
	require.NoError(t, err)
	replay.Header = calls[1].header.Clone()
	resp, err := http.DefaultClient.Do(replay)
	require.NoError(t, err)
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	assert.Contains(t, string(answer), webhook.ErrReplay.Error())

	// The devices go with the account.
	require.NoError(t, bob.Do(ctx, "DELETE", "/devices/"+string(dev.DeviceID), nil, nil))
	apiError(t, bob.Do(ctx, "DELETE", "/devices/"+string(dev.DeviceID), nil, nil), http.StatusNotFound, "not_found")
}

// TestPushConfigurationThatCannotWorkStopsTheStart: a webhook without its
// secret, a short secret and an FCM key that does not load are each refused
// at start, naming the variable.
func TestPushConfigurationThatCannotWorkStopsTheStart(t *testing.T) {
	notKey := filepath.Join(t.TempDir(), "fcm.json")
	require.NoError(t, os.WriteFile(notKey, []byte(`{"type":"service_account"}`), 0o600))
	cases := []struct {
		name string
		vars map[string]string
		want string
	}{
		{"webhook without secret", map[string]string{"MESSENGER_PUSH_WEBHOOK_URL": "http://127.0.0.1:1/push"}, "MESSENGER_PUSH_WEBHOOK_SECRET"},
		{"short secret", map[string]string{"MESSENGER_PUSH_WEBHOOK_URL": "http://127.0.0.1:1/push", "MESSENGER_PUSH_WEBHOOK_SECRET": "short"}, "MESSENGER_PUSH_WEBHOOK_"},
		{"FCM key that does not load", map[string]string{"MESSENGER_PUSH_FCM_CREDENTIALS_FILE": notKey}, "MESSENGER_PUSH_FCM_CREDENTIALS_FILE"},
		{"FCM key missing", map[string]string{"MESSENGER_PUSH_FCM_CREDENTIALS_FILE": notKey + ".missing"}, "MESSENGER_PUSH_FCM_CREDENTIALS_FILE"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			vars := map[string]string{
				"MESSENGER_ADDR": "127.0.0.1:0", "MESSENGER_METRICS_ADDR": "off",
				"MESSENGER_PASSWORD_MEMORY_KIB": "64", "MESSENGER_PASSWORD_ITERATIONS": "1",
			}
			maps.Copy(vars, tc.vars)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			err := server.Serve(ctx, env(vars), io.Discard, func(server.Listening) {
				t.Error("the server started with a push configuration that cannot work")
				cancel()
			})
			require.ErrorContains(t, err, tc.want)
		})
	}
}

// receiverOnline reads from n's metrics how many messages the push group did
// not tell because their receiver was online.
func receiverOnline(t *testing.T, n *node) int {
	t.Helper()
	resp, err := http.Get(n.metrics + "/metrics")
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	total := 0
	for _, line := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(line, "messenger_push_notifications_total{") && strings.Contains(line, `outcome="receiver_online"`) {
			fields := strings.Fields(line)
			v, _ := strconv.ParseFloat(fields[len(fields)-1], 64)
			total += int(v)
		}
	}
	return total
}
