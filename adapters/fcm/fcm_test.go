package fcm_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwt"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/adapters/fcm"
	"github.com/messenger-go/messenger/domain"
)

const project = "messenger-test"

// fakeFCM answers as Google's token endpoint and as FCM's messages:send do
// in their documentation, and checks each request's shape. What it answers
// a send depends on the device token: "gone" UNREGISTERED, "bad"
// INVALID_ARGUMENT, "busy" UNAVAILABLE once, "quota" QUOTA_EXCEEDED always,
// anything else success.
type fakeFCM struct {
	t   *testing.T
	key *rsa.PrivateKey

	mu        sync.Mutex
	exchanges int
	sends     []map[string]any
	busy      bool
	problems  []string
}

func (f *fakeFCM) problem(s string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.problems = append(f.problems, s)
}

func (f *fakeFCM) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/token":
		f.token(w, r)
	case "/v1/projects/" + project + "/messages:send":
		f.send(w, r)
	default:
		f.problem("unexpected path " + r.URL.Path)
		http.NotFound(w, r)
	}
}

// token checks the service account's JWT grant (RFC 7523) and answers an
// access token.
func (f *fakeFCM) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || r.PostForm.Get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" {
		f.problem("token request without the JWT bearer grant")
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	tok, err := jwt.Parse([]byte(r.PostForm.Get("assertion")), jwt.WithKey(jwa.RS256, &f.key.PublicKey))
	if err != nil {
		f.problem("assertion: " + err.Error())
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	scope, _ := tok.Get("scope")
	if tok.Issuer() != "pusher@"+project+".iam.gserviceaccount.com" || scope != fcm.Scope ||
		len(tok.Audience()) != 1 || tok.Audience()[0] != "http://"+r.Host+"/token" {
		f.problem("assertion claims: " + tok.Issuer())
	}
	f.mu.Lock()
	f.exchanges++
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"access_token":"ya29.test-token","token_type":"Bearer","expires_in":3600}`)
}

func (f *fakeFCM) send(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.Header.Get("Authorization") != "Bearer ya29.test-token" ||
		r.Header.Get("Content-Type") != "application/json; charset=UTF-8" {
		f.problem("send without POST, the bearer token or the JSON type")
	}
	var body map[string]any
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		f.problem("send body: " + err.Error())
	}
	msg, _ := body["message"].(map[string]any)
	data, _ := msg["data"].(map[string]any)
	for k, v := range data {
		if _, ok := v.(string); !ok {
			f.problem("data value not a string: " + k)
		}
	}
	token, _ := msg["token"].(string)
	f.mu.Lock()
	f.sends = append(f.sends, body)
	busy := f.busy
	f.busy = false
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	fail := func(code int, status, errorCode string) {
		w.WriteHeader(code)
		_, _ = io.WriteString(w, `{"error":{"code":`+itoa(code)+`,"message":"documented error","status":"`+status+
			`","details":[{"@type":"type.googleapis.com/google.firebase.fcm.v1.FcmError","errorCode":"`+errorCode+`"}]}}`)
	}
	switch {
	case token == "gone":
		fail(404, "NOT_FOUND", "UNREGISTERED")
	case token == "bad":
		fail(400, "INVALID_ARGUMENT", "INVALID_ARGUMENT")
	case token == "quota":
		w.Header().Set("Retry-After", "0")
		fail(429, "RESOURCE_EXHAUSTED", "QUOTA_EXCEEDED")
	case token == "busy" && busy:
		fail(503, "UNAVAILABLE", "UNAVAILABLE")
	default:
		_, _ = io.WriteString(w, `{"name":"projects/`+project+`/messages/0:1500415314455276%31bd1c9631bd1c96"}`)
	}
}

// serviceKey is the service account's key, one for the package's tests.
var serviceKey = sync.OnceValues(func() (*rsa.PrivateKey, error) { return rsa.GenerateKey(rand.Reader, 2048) })

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func newFake(t *testing.T) (*fakeFCM, *fcm.Pusher) {
	t.Helper()
	key, err := serviceKey()
	require.NoError(t, err)
	f := &fakeFCM{t: t, key: key, busy: true}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	t.Cleanup(func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		assert.Empty(t, f.problems, "requests that do not match the documented shape")
	})
	der, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	creds, err := json.Marshal(map[string]string{
		"type": "service_account", "project_id": project, "private_key_id": "k1",
		"private_key":  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email": "pusher@" + project + ".iam.gserviceaccount.com", "client_id": "1",
		"token_uri": srv.URL + "/token",
	})
	require.NoError(t, err)
	p, err := fcm.New(fcm.Config{Credentials: creds, Endpoint: srv.URL, Backoff: time.Millisecond, Attempts: 3})
	require.NoError(t, err)
	return f, p
}

var note = domain.PushNotification{ConversationID: "11111111-1111-4111-8111-111111111111_22222222-2222-4222-8222-222222222222",
	SenderName: "Alice Liddell", Count: 3, LastSequence: 42}

func device(token string) domain.Device {
	return domain.Device{ID: "33333333-3333-4333-8333-333333333333", Platform: domain.PlatformFCM, Token: token}
}

func TestPushSendsTheDocumentedMessage(t *testing.T) {
	f, p := newFake(t)
	require.NoError(t, p.Push(t.Context(), device("tok-1"), note))
	require.NoError(t, p.Push(t.Context(), device("tok-2"), note))
	f.mu.Lock()
	defer f.mu.Unlock()
	assert.Equal(t, 1, f.exchanges, "the access token is reused")
	require.Len(t, f.sends, 2)
	msg := f.sends[0]["message"].(map[string]any)
	assert.Equal(t, "tok-1", msg["token"])
	assert.Equal(t, map[string]any{"title": "Alice Liddell", "body": "3 new messages"}, msg["notification"])
	assert.Equal(t, map[string]any{"conversationId": string(note.ConversationID), "count": "3", "lastSequenceId": "42"}, msg["data"])
	collapse := msg["android"].(map[string]any)["collapse_key"].(string)
	assert.Len(t, collapse, 32)
	assert.Equal(t, collapse, msg["apns"].(map[string]any)["headers"].(map[string]any)["apns-collapse-id"])
}

func TestPushAnswers(t *testing.T) {
	cases := []struct {
		token string
		kind  domain.Kind
		sends int
	}{
		{"gone", domain.KindNotFound, 1},
		{"bad", domain.KindInvalid, 1},
		{"busy", 0, 2},
		{"quota", domain.KindUnavailable, 3},
	}
	for _, tc := range cases {
		t.Run(tc.token, func(t *testing.T) {
			f, p := newFake(t)
			err := p.Push(t.Context(), device(tc.token), note)
			if tc.kind == 0 {
				require.NoError(t, err)
			} else {
				assert.Equal(t, tc.kind, domain.KindOf(err), "%v", err)
			}
			f.mu.Lock()
			defer f.mu.Unlock()
			assert.Len(t, f.sends, tc.sends)
		})
	}
}

func TestNewNeedsCredentials(t *testing.T) {
	_, err := fcm.New(fcm.Config{Credentials: []byte(`{}`)})
	assert.Error(t, err)
}
