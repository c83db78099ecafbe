package messenger_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/docs/docstest"
)

// TestLifecycleAnswersMatchTheDocument goes through the wire contract's
// second part on a real node and checks every answer against openapi.yaml.
func TestLifecycleAnswersMatchTheDocument(t *testing.T) {
	d, err := docstest.Load()
	require.NoError(t, err)
	_, srv := newNode(t)
	a := api{t, d, srv}

	register := func(first, email string) (string, string) {
		status, s := a.call("POST", "/auth/register", "/auth/register", "", map[string]string{
			"firstName": first, "lastName": "Test", "email": email, "password": "correct horse battery"})
		require.Equal(t, http.StatusCreated, status)
		return s["user"].(map[string]any)["id"].(string), s["accessToken"].(string)
	}
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
