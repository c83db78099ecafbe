package messenger_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/docs/docstest"
)

// TestDeviceAnswersMatchTheDocument registers and removes push devices on a
// real node and checks every answer against openapi.yaml.
func TestDeviceAnswersMatchTheDocument(t *testing.T) {
	d, err := docstest.Load()
	require.NoError(t, err)
	_, srv := newNode(t)
	a := api{t, d, srv}
	register := func(first, email string) string {
		status, s := a.call("POST", "/auth/register", "/auth/register", "", map[string]string{
			"firstName": first, "lastName": "Test", "email": email, "password": "correct horse battery"})
		require.Equal(t, http.StatusCreated, status)
		return s["accessToken"].(string)
	}
	ada, charles := register("Ada", "ada@example.com"), register("Charles", "charles@example.com")

	status, dev := a.call("POST", "/devices", "/devices", ada, map[string]string{"platform": "fcm", "token": "fcm-token-1"})
	require.Equal(t, http.StatusCreated, status)
	assert.Equal(t, "sender", dev["preview"])
	status, again := a.call("POST", "/devices", "/devices", ada, map[string]string{"platform": "fcm", "token": "fcm-token-1", "preview": "none"})
	require.Equal(t, http.StatusCreated, status)
	assert.Equal(t, dev["deviceId"], again["deviceId"], "the same token is the same device")
	assert.Equal(t, "none", again["preview"])
	status, _ = a.call("POST", "/devices", "/devices", ada, map[string]string{"platform": "pager", "token": "x"})
	assert.Equal(t, http.StatusBadRequest, status)

	id := dev["deviceId"].(string)
	status, _ = a.call("DELETE", "/devices/"+id, "/devices/{deviceId}", charles, nil)
	assert.Equal(t, http.StatusNotFound, status, "not charles's device")
	status, _ = a.call("DELETE", "/devices/"+id, "/devices/{deviceId}", ada, nil)
	assert.Equal(t, http.StatusNoContent, status)
	status, _ = a.call("DELETE", "/devices/"+id, "/devices/{deviceId}", ada, nil)
	assert.Equal(t, http.StatusNotFound, status)
}
