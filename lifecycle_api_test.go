package messenger_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/client"
	"github.com/messenger-go/messenger/docs/docstest"
)

// TestLifecycleAnswersMatchTheDocument goes through the wire contract's
// second part on a real node and checks every answer against openapi.yaml.
func TestLifecycleAnswersMatchTheDocument(t *testing.T) {
	d, err := docstest.Load()
	require.NoError(t, err)
	_, srv := newNode(t)
	a := api{t, d, srv}

	register := a.register
	adaID, ada := register("Ada", "ada@example.com")
	charlesID, charles := register("Charles", "charles@example.com")

	status, _ := a.call("POST", "/friends/send-request", "/friends/send-request", ada, map[string]string{"friendId": charlesID})
	require.Equal(t, http.StatusCreated, status)
	status, _ = a.call("POST", "/friends/decline-request", "/friends/decline-request", charles, map[string]string{"friendId": adaID})
	assert.Equal(t, http.StatusNoContent, status)
	status, _ = a.call("POST", "/friends/decline-request", "/friends/decline-request", charles, map[string]string{"friendId": adaID})
	assert.Equal(t, http.StatusNotFound, status)
	status, _ = a.call("POST", "/friends/send-request", "/friends/send-request", ada, map[string]string{"friendId": charlesID})
	require.Equal(t, http.StatusCreated, status)
	status, _ = a.call("POST", "/friends/cancel-request", "/friends/cancel-request", ada, map[string]string{"friendId": charlesID})
	assert.Equal(t, http.StatusNoContent, status)
	status, _ = a.call("POST", "/friends/send-request", "/friends/send-request", ada, map[string]string{"friendId": charlesID})
	require.Equal(t, http.StatusCreated, status)
	status, _ = a.call("POST", "/friends/accept-request", "/friends/accept-request", charles, map[string]string{"friendId": adaID})
	require.Equal(t, http.StatusOK, status)
	status, _ = a.call("DELETE", "/friends/"+charlesID, "/friends/{friendId}", ada, nil)
	assert.Equal(t, http.StatusNoContent, status)
	status, _ = a.call("DELETE", "/friends/"+charlesID, "/friends/{friendId}", ada, nil)
	assert.Equal(t, http.StatusNotFound, status)

	status, me := a.call("GET", "/users/me", "/users/me", ada, nil)
	require.Equal(t, http.StatusOK, status)
	assert.Equal(t, "ada@example.com", me["user"].(map[string]any)["email"])
	status, me = a.call("PATCH", "/users/me", "/users/me", ada, map[string]string{"lastName": "King"})
	require.Equal(t, http.StatusOK, status)
	assert.Equal(t, "King", me["user"].(map[string]any)["lastName"])
	status, _ = a.call("PATCH", "/users/me", "/users/me", ada, map[string]string{"firstName": " "})
	assert.Equal(t, http.StatusBadRequest, status)
	status, export := a.call("GET", "/users/me/export", "/users/me/export", ada, nil)
	require.Equal(t, http.StatusOK, status)
	assert.Equal(t, "King", export["user"].(map[string]any)["lastName"])

	status, _ = a.call("POST", "/auth/change-password", "/auth/change-password", ada, map[string]string{
		"currentPassword": "wrong password", "newPassword": "staple battery horse correct"})
	assert.Equal(t, http.StatusForbidden, status)
	status, _ = a.call("POST", "/auth/change-password", "/auth/change-password", ada, map[string]string{
		"currentPassword": "correct horse battery", "newPassword": "staple battery horse correct"})
	assert.Equal(t, http.StatusNoContent, status)
	status, _ = a.call("GET", "/users/me", "/users/me", ada, nil)
	assert.Equal(t, http.StatusUnauthorized, status, "the token issued before the change is refused")

	status, _ = a.call("POST", "/auth/logout-all", "/auth/logout-all", charles, nil)
	assert.Equal(t, http.StatusNoContent, status)
	status, s := a.call("POST", "/auth/login", "/auth/login", "", map[string]string{"email": "charles@example.com", "password": "correct horse battery"})
	require.Equal(t, http.StatusOK, status)
	charles = s["accessToken"].(string)
	status, _ = a.call("DELETE", "/users/me", "/users/me", charles, map[string]string{"password": "not it"})
	assert.Equal(t, http.StatusForbidden, status)
	status, _ = a.call("DELETE", "/users/me", "/users/me", charles, map[string]string{"password": "correct horse battery"})
	assert.Equal(t, http.StatusNoContent, status)
	status, _ = a.call("GET", "/users/me", "/users/me", charles, nil)
	assert.Equal(t, http.StatusUnauthorized, status, "a deleted account's token is refused at once")
}

// TestMessageChangesMatchTheDocument edits and deletes a message on a real
// node and checks the answers and the frames against the documents.
func TestMessageChangesMatchTheDocument(t *testing.T) {
	d, err := docstest.Load()
	require.NoError(t, err)
	_, srv := newNode(t)
	a := api{t, d, srv}
	ctx := t.Context()
	register := a.register
	adaID, ada := register("Ada", "ada@example.com")
	charlesID, charles := register("Charles", "charles@example.com")
	status, _ := a.call("POST", "/friends/send-request", "/friends/send-request", ada, map[string]string{"friendId": charlesID})
	require.Equal(t, http.StatusCreated, status)
	status, _ = a.call("POST", "/friends/accept-request", "/friends/accept-request", charles, map[string]string{"friendId": adaID})
	require.Equal(t, http.StatusOK, status)

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
	adaWS, err := client.New(srv.URL, srv.Client()).WithToken(ada).Dial(ctx)
	require.NoError(t, err)
	defer adaWS.CloseNow()
	frame("presence")
	status, friends := a.call("GET", "/friends/list", "/friends/list", charles, nil)
	require.Equal(t, http.StatusOK, status)
	assert.Equal(t, true, friends["friends"].([]any)[0].(map[string]any)["online"])

	status, receipt := a.call("POST", "/messages/send", "/messages/send", ada, map[string]any{"receiverId": charlesID, "message": "Helo", "clientMessageId": "c-1"})
	require.Equal(t, http.StatusAccepted, status)
	id := receipt["messageId"].(string)
	frame("newMessage")
	path := "/messages/" + id
	status, edited := a.call("PATCH", path, "/messages/{messageId}", ada, map[string]any{"message": "Hello", "metadata": map[string]any{"k": "v"}})
	require.Equal(t, http.StatusOK, status)
	assert.Equal(t, float64(2), edited["message"].(map[string]any)["version"])
	frame("messageEdited")

	status, _ = a.call("PATCH", path, "/messages/{messageId}", charles, map[string]any{"message": "not mine"})
	assert.Equal(t, http.StatusForbidden, status)
	status, _ = a.call("PATCH", path, "/messages/{messageId}", ada, map[string]any{"message": strings.Repeat("x", 9000)})
	assert.Equal(t, http.StatusRequestEntityTooLarge, status)
	status, _ = a.call("PATCH", "/messages/5f1d7a2c-3b4e-5f60-8a1b-2c3d4e5f6a7b", "/messages/{messageId}", ada, map[string]any{"message": "x"})
	assert.Equal(t, http.StatusNotFound, status)
	status, _ = a.call("DELETE", path, "/messages/{messageId}", charles, nil)
	assert.Equal(t, http.StatusForbidden, status)

	status, _ = a.call("DELETE", path, "/messages/{messageId}", ada, nil)
	assert.Equal(t, http.StatusNoContent, status)
	frame("messageDeleted")
	require.Eventually(t, func() bool {
		status, _ = a.call("PATCH", path, "/messages/{messageId}", ada, map[string]any{"message": "back"})
		return status == http.StatusConflict
	}, 5*time.Second, 10*time.Millisecond, "an edit of a deleted message is a conflict")
	status, hist := a.call("GET", "/messages/history/"+adaID, "/messages/history/{id}", charles, nil)
	require.Equal(t, http.StatusOK, status)
	tomb := hist["messages"].([]any)[0].(map[string]any)
	assert.Equal(t, "", tomb["message"])
	assert.NotNil(t, tomb["deletedAt"])
}
