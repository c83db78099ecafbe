package webhook_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/adapters/webhook"
	"github.com/messenger-go/messenger/domain"
)

var secret = []byte("a-deployment-secret-of-32-bytes!")

// receiver is a webhook endpoint that verifies each call and answers the
// statuses it is given in turn (then 204).
type receiver struct {
	t        *testing.T
	verifier *webhook.Verifier
	mu       sync.Mutex
	answers  []int
	calls    []webhook.Call
	requests []*http.Request
	bodies   [][]byte
	refused  []error
}

func newReceiver(t *testing.T, answers ...int) (*receiver, *httptest.Server) {
	r := &receiver{t: t, verifier: &webhook.Verifier{Secret: secret}, answers: answers}
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return r, srv
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, err := r.verifier.Verify(req)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		r.refused = append(r.refused, err)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	var c webhook.Call
	if err := json.Unmarshal(body, &c); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	r.calls = append(r.calls, c)
	r.requests = append(r.requests, req)
	r.bodies = append(r.bodies, body)
	code := http.StatusNoContent
	if len(r.answers) > 0 {
		code, r.answers = r.answers[0], r.answers[1:]
	}
	w.WriteHeader(code)
}

func (r *receiver) seen() ([]webhook.Call, []error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]webhook.Call(nil), r.calls...), append([]error(nil), r.refused...)
}

var (
	bob   = domain.UserID("22222222-2222-4222-8222-222222222222")
	conv  = domain.ConversationID("11111111-1111-4111-8111-111111111111_22222222-2222-4222-8222-222222222222")
	phone = domain.Device{ID: "33333333-3333-4333-8333-333333333333", User: bob, Platform: domain.PlatformWebhook,
		Token: "bob-phone", Preview: domain.PreviewSender}
	note = domain.PushNotification{ConversationID: conv, SenderName: "Alice Liddell", Count: 3, LastSequence: 7}
)

type deadLetters struct {
	mu    sync.Mutex
	calls []webhook.Call
}

func (d *deadLetters) add(_ context.Context, c webhook.Call, _ error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.calls = append(d.calls, c)
}

func newPusher(t *testing.T, url string, dead *deadLetters) *webhook.Pusher {
	t.Helper()
	p, err := webhook.New(webhook.Config{URL: url, Secret: secret, Attempts: 3, Backoff: 10 * time.Millisecond, DeadLetter: dead.add})
	require.NoError(t, err)
	return p
}

func TestPushSignsTheCall(t *testing.T) {
	r, srv := newReceiver(t)
	var dead deadLetters
	require.NoError(t, newPusher(t, srv.URL, &dead).Push(t.Context(), phone, note))
	calls, refused := r.seen()
	require.Len(t, calls, 1)
	assert.Empty(t, refused)
	assert.Equal(t, webhook.Call{ID: calls[0].ID, Attempt: 1, DeviceID: phone.ID, UserID: bob, Token: "bob-phone", Notification: note}, calls[0])
	req := r.requests[0]
	assert.Equal(t, calls[0].ID, req.Header.Get(webhook.HeaderDelivery))
	assert.Equal(t, "application/json", req.Header.Get("Content-Type"))
	assert.Equal(t, webhook.Sign(secret, req.Header.Get(webhook.HeaderTimestamp), r.bodies[0]), req.Header.Get(webhook.HeaderSignature))
	assert.Empty(t, dead.calls)
}

func TestPushRetriesAfterServerErrors(t *testing.T) {
	r, srv := newReceiver(t, http.StatusInternalServerError, http.StatusServiceUnavailable)
	var dead deadLetters
	require.NoError(t, newPusher(t, srv.URL, &dead).Push(t.Context(), phone, note))
	calls, _ := r.seen()
	require.Len(t, calls, 3, "two failures, then the success")
	assert.Equal(t, calls[0].ID, calls[2].ID, "one delivery id on every attempt")
	assert.Equal(t, []int{1, 2, 3}, []int{calls[0].Attempt, calls[1].Attempt, calls[2].Attempt})
	assert.Empty(t, dead.calls)
}

func TestPushDeadLetters(t *testing.T) {
	cases := []struct {
		name     string
		answers  []int
		attempts int
		kind     domain.Kind
		dead     bool
	}{
		{"after the attempts fail", []int{500, 502, 503}, 3, domain.KindUnavailable, true},
		{"at once when refused", []int{400}, 1, domain.KindInvalid, true},
		{"never for an unknown token", []int{410}, 1, domain.KindNotFound, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, srv := newReceiver(t, tc.answers...)
			var dead deadLetters
			err := newPusher(t, srv.URL, &dead).Push(t.Context(), phone, note)
			assert.Equal(t, tc.kind, domain.KindOf(err), "%v", err)
			calls, _ := r.seen()
			assert.Len(t, calls, tc.attempts)
			if tc.dead {
				require.Len(t, dead.calls, 1)
				assert.Equal(t, calls[0].ID, dead.calls[0].ID)
			} else {
				assert.Empty(t, dead.calls)
			}
		})
	}
}

func TestPushRetriesAfterATimeout(t *testing.T) {
	var mu sync.Mutex
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		n++
		first := n == 1
		mu.Unlock()
		if first {
			select { // hangs past the client's timeout
			case <-r.Context().Done():
			case <-time.After(time.Second):
			}
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(srv.Close)
	var dead deadLetters
	p, err := webhook.New(webhook.Config{URL: srv.URL, Secret: secret, Backoff: time.Millisecond,
		Client: &http.Client{Timeout: 100 * time.Millisecond}, DeadLetter: dead.add})
	require.NoError(t, err)
	require.NoError(t, p.Push(t.Context(), phone, note))
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, 2, n)
}

func TestNewRefusesAWeakConfig(t *testing.T) {
	_, err := webhook.New(webhook.Config{URL: "http://x", Secret: []byte("short")})
	assert.Error(t, err)
	_, err = webhook.New(webhook.Config{Secret: secret})
	assert.Error(t, err)
}

// TestVerifier runs the receiving side's check of docs/push.md: a genuine
// call passes once, its replay is refused, and so are a stale, a tampered
// and an unsigned one.
func TestVerifier(t *testing.T) {
	now := time.Unix(1_900_000_000, 0)
	body := []byte(`{"id":"x","token":"bob-phone"}`)
	signed := func(ts time.Time, body []byte, key []byte) *http.Request {
		r := httptest.NewRequest(http.MethodPost, "/push", bytes.NewReader(body))
		s := strconv.FormatInt(ts.Unix(), 10)
		r.Header.Set(webhook.HeaderTimestamp, s)
		r.Header.Set(webhook.HeaderSignature, webhook.Sign(key, s, body))
		return r
	}
	v := &webhook.Verifier{Secret: secret, Now: func() time.Time { return now }}

	got, err := v.Verify(signed(now, body, secret))
	require.NoError(t, err)
	assert.Equal(t, body, got)

	_, err = v.Verify(signed(now, body, secret))
	assert.ErrorIs(t, err, webhook.ErrReplay, "the same signed call again")

	retry, err := v.Verify(signed(now.Add(time.Second), body, secret))
	require.NoError(t, err, "a retry is signed anew and passes")
	assert.Equal(t, body, retry)

	_, err = v.Verify(signed(now.Add(-6*time.Minute), body, secret))
	assert.ErrorIs(t, err, webhook.ErrStale)
	_, err = v.Verify(signed(now, body, []byte("another-secret-of-enough-bytes!!")))
	assert.ErrorIs(t, err, webhook.ErrSignature)
	tampered := signed(now.Add(2*time.Second), body, secret)
	tampered.Body = http.NoBody
	_, err = v.Verify(tampered)
	assert.ErrorIs(t, err, webhook.ErrSignature)
	bare := httptest.NewRequest(http.MethodPost, "/push", bytes.NewReader(body))
	_, err = v.Verify(bare)
	assert.True(t, errors.Is(err, webhook.ErrStale) || errors.Is(err, webhook.ErrSignature), "%v", err)
}

// TestDocsShowTheVerifier checks that docs/push.md shows verify.go as it
// is, so the verifier a receiver copies is the one tested here.
func TestDocsShowTheVerifier(t *testing.T) {
	src, err := os.ReadFile("verify.go")
	require.NoError(t, err)
	doc, err := os.ReadFile("../../docs/push.md")
	require.NoError(t, err)
	code := strings.TrimPrefix(string(src), "package webhook\n")
	assert.Contains(t, string(doc), "```go\npackage pushverify\n"+code+"```", "docs/push.md shows verify.go under package pushverify")
}
