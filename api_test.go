package messenger_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	messenger "github.com/messenger-go/messenger"
	"github.com/messenger-go/messenger/adapters/auth"
	"github.com/messenger-go/messenger/client"
	"github.com/messenger-go/messenger/docs/docstest"
)

// newNode runs an in-memory node behind a test server.
func newNode(t *testing.T) (*messenger.Messenger, *httptest.Server) {
	t.Helper()
	passwords, err := auth.NewPasswords(auth.PasswordConfig{Params: auth.TestPasswordParams})
	require.NoError(t, err)
	node, err := messenger.New(messenger.Config{Passwords: passwords})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- node.Run(ctx) }()
	srv := httptest.NewServer(node.Handler())
	t.Cleanup(func() {
		srv.Close()
		sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer scancel()
		assert.NoError(t, node.Shutdown(sctx))
		cancel()
		assert.NoError(t, <-done)
	})
	return node, srv
}

// documented lists the operations of openapi.yaml as "METHOD /path".
func documented(t *testing.T, d *docstest.Documents) []string {
	t.Helper()
	var out []string
	for path, item := range d.Doc(docstest.OpenAPI)["paths"].(map[string]any) {
		for method := range item.(map[string]any) {
			out = append(out, strings.ToUpper(method)+" "+path)
		}
	}
	slices.Sort(out)
	return out
}

func TestEveryRouteIsDocumented(t *testing.T) {
	d, err := docstest.Load()
	require.NoError(t, err)
	node, _ := newNode(t)
	served := messenger.Patterns(node)
	require.NotEmpty(t, served)
	assert.ElementsMatch(t, served, documented(t, d),
		"the routes the node serves and the operations of docs/openapi.yaml are the same")
}

// TestEveryDocumentedRouteIsServed calls every documented operation without
// credentials or body: each must reach its endpoint (not the router's 404 or
// 405) and answer a status its operation documents.
func TestEveryDocumentedRouteIsServed(t *testing.T) {
	d, err := docstest.Load()
	require.NoError(t, err)
	_, srv := newNode(t)
	param := regexp.MustCompile(`\{[^}]+\}`)
	for _, op := range documented(t, d) {
		t.Run(op, func(t *testing.T) {
			method, path, _ := strings.Cut(op, " ")
			target := param.ReplaceAllString(path, "0b8a5f8e-1c2d-4e3f-8a9b-0c1d2e3f4a5b")
			req, err := http.NewRequest(method, srv.URL+target, nil)
			require.NoError(t, err)
			resp, err := srv.Client().Do(req)
			require.NoError(t, err)
			resp.Body.Close()
			assert.NotContains(t, []int{http.StatusNotFound, http.StatusMethodNotAllowed}, resp.StatusCode)
			responses := d.Doc(docstest.OpenAPI)["paths"].(map[string]any)[path].(map[string]any)[strings.ToLower(method)].(map[string]any)["responses"].(map[string]any)
			assert.Contains(t, responses, fmt.Sprint(resp.StatusCode), "the answer's status is documented")
		})
	}
}

// api calls the node and checks every JSON answer against openapi.yaml.
type api struct {
	t   *testing.T
	d   *docstest.Documents
	srv *httptest.Server
}

// call sends body (nil for none) as token's user and returns the status and
// the decoded answer, after checking that the document describes it.
func (a api) call(method, path, pattern, token string, body any) (int, map[string]any) {
	a.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(a.t, err)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, a.srv.URL+path, rd)
	require.NoError(a.t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := a.srv.Client().Do(req)
	require.NoError(a.t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(a.t, err)
	if resp.StatusCode == http.StatusNoContent {
		return resp.StatusCode, nil
	}
	ptr, err := a.d.ResponseSchema(method, pattern, resp.StatusCode)
	require.NoError(a.t, err, "%s %s answered %d: %s", method, path, resp.StatusCode, raw)
	v, err := docstest.Decode(raw)
	require.NoError(a.t, err)
	assert.NoError(a.t, a.d.Validate(docstest.OpenAPI, ptr, v), "%s %s answered %d: %s", method, path, resp.StatusCode, raw)
	var out map[string]any
	require.NoError(a.t, json.Unmarshal(raw, &out))
	return resp.StatusCode, out
}

// register creates a user with the tests' password and returns its id and
// access token.
func (a api) register(first, email string) (string, string) {
	a.t.Helper()
	status, s := a.call("POST", "/auth/register", "/auth/register", "", map[string]string{
		"firstName": first, "lastName": "Test", "email": email, "password": "correct horse battery"})
	require.Equal(a.t, http.StatusCreated, status)
	return s["user"].(map[string]any)["id"].(string), s["accessToken"].(string)
}

// TestAnswersMatchTheDocument goes through the contract on a real node and
// checks every answer and WebSocket frame against the documents' schemas.
func TestAnswersMatchTheDocument(t *testing.T) {
	d, err := docstest.Load()
	require.NoError(t, err)
	_, srv := newNode(t)
	a := api{t, d, srv}
	ctx := t.Context()

	register := func(first, email string) (string, string, string) {
		status, s := a.call("POST", "/auth/register", "/auth/register", "", map[string]string{
			"firstName": first, "lastName": "Test", "email": email, "password": "correct horse battery"})
		require.Equal(t, http.StatusCreated, status)
		return s["user"].(map[string]any)["id"].(string), s["accessToken"].(string), s["refreshToken"].(string)
	}
	adaID, ada, adaRefresh := register("Ada", "ada@example.com")
	charlesID, charles, _ := register("Charles", "charles@example.com")

	status, _ := a.call("POST", "/auth/register", "/auth/register", "", map[string]string{"email": "ada@example.com"})
	assert.Equal(t, http.StatusBadRequest, status, "an error answer matches the document too")
	status, _ = a.call("GET", "/friends/list", "/friends/list", "", nil)
	assert.Equal(t, http.StatusUnauthorized, status)
	status, _ = a.call("POST", "/auth/login", "/auth/login", "", map[string]string{"email": "ada@example.com", "password": "correct horse battery"})
	assert.Equal(t, http.StatusOK, status)

	ws, err := client.New(srv.URL, srv.Client()).WithToken(charles).Dial(ctx)
	require.NoError(t, err)
	defer ws.CloseNow()
	frame := func(want string) {
		t.Helper()
		for {
			f, err := ws.Next(ctx)
			require.NoError(t, err)
			v, err := docstest.Decode(fmt.Appendf(nil, `{"event": %q, "data": %s}`, f.Event, f.Data))
			require.NoError(t, err)
			assert.NoError(t, d.Validate(docstest.AsyncAPI, docstest.Pointer("components", "messages", f.Event, "payload"), v),
				"frame %s %s", f.Event, f.Data)
			if f.Event == want {
				return
			}
		}
	}
	frame("registered")
	require.NoError(t, ws.Resume(ctx, nil))

	status, _ = a.call("POST", "/friends/send-request", "/friends/send-request", ada, map[string]string{"friendId": charlesID})
	require.Equal(t, http.StatusCreated, status)
	frame("newFriendRequest")
	status, _ = a.call("GET", "/friends/pending-requests", "/friends/pending-requests", charles, nil)
	assert.Equal(t, http.StatusOK, status)
	status, _ = a.call("POST", "/friends/accept-request", "/friends/accept-request", charles, map[string]string{"friendId": adaID})
	require.Equal(t, http.StatusOK, status)
	status, _ = a.call("GET", "/friends/list", "/friends/list", ada, nil)
	assert.Equal(t, http.StatusOK, status)
	status, _ = a.call("GET", "/friends/search?q=cha", "/friends/search", ada, nil)
	assert.Equal(t, http.StatusOK, status)

	status, receipt := a.call("POST", "/messages/send", "/messages/send", ada, map[string]any{
		"receiverId": charlesID, "message": "Hello!", "clientMessageId": "c-1", "metadata": map[string]any{"k": "v"}})
	require.Equal(t, http.StatusAccepted, status)
	conv := receipt["conversationId"].(string)
	frame("newMessage")
	require.NoError(t, ws.Send(ctx, "joinChat", map[string]string{"conversationId": conv}))
	frame("chatRegistered")
	require.NoError(t, ws.Send(ctx, "ack", map[string]any{"conversationId": conv, "upToSequenceId": 1}))
	require.NoError(t, ws.Send(ctx, "typo", map[string]any{}))
	frame("error")

	status, _ = a.call("GET", "/messages/history/"+conv+"?after=0", "/messages/history/{id}", charles, nil)
	assert.Equal(t, http.StatusOK, status)
	status, _ = a.call("GET", "/messages/conversations", "/messages/conversations", charles, nil)
	assert.Equal(t, http.StatusOK, status)
	status, _ = a.call("GET", "/messages/unread-count", "/messages/unread-count", charles, nil)
	assert.Equal(t, http.StatusOK, status)
	status, _ = a.call("POST", "/messages/mark-read", "/messages/mark-read", charles, map[string]any{"conversationId": conv, "upToSequenceId": 1})
	assert.Equal(t, http.StatusAccepted, status)
	status, _ = a.call("GET", "/messages/history/"+adaID, "/messages/history/{id}", ada, nil)
	assert.Equal(t, http.StatusBadRequest, status, "a user's own id names no conversation")

	status, _ = a.call("POST", "/auth/refresh", "/auth/refresh", "", map[string]string{"refreshToken": adaRefresh})
	assert.Equal(t, http.StatusOK, status)
	status, _ = a.call("POST", "/auth/logout", "/auth/logout", "", map[string]string{"refreshToken": adaRefresh})
	assert.Equal(t, http.StatusNoContent, status)
	for _, path := range []string{"/healthz", "/readyz", "/.well-known/jwks.json"} {
		status, _ = a.call("GET", path, path, "", nil)
		assert.Equal(t, http.StatusOK, status, path)
	}
}
