package messenger_test

import (
	"bytes"
	"crypto/rand"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/docs/docstest"
)

// TestAttachmentsMatchTheDocument uploads an image on a real node with the
// embedded filesystem store, sends it and downloads it as the peer, checking
// every JSON answer against openapi.yaml, and each refusal.
func TestAttachmentsMatchTheDocument(t *testing.T) {
	d, err := docstest.Load()
	require.NoError(t, err)
	_, srv := newNode(t)
	a := api{t, d, srv}
	noRedirect := *srv.Client()
	noRedirect.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

	register := a.register
	adaID, ada := register("Ada", "ada@example.com")
	charlesID, charles := register("Charles", "charles@example.com")
	_, eve := register("Eve", "eve@example.com")
	status, _ := a.call("POST", "/friends/send-request", "/friends/send-request", ada, map[string]string{"friendId": charlesID})
	require.Equal(t, http.StatusCreated, status)
	status, _ = a.call("POST", "/friends/accept-request", "/friends/accept-request", charles, map[string]string{"friendId": adaID})
	require.Equal(t, http.StatusOK, status)

	for _, bad := range []struct {
		name   string
		body   map[string]any
		status int
	}{
		{"html", map[string]any{"fileName": "x.html", "contentType": "text/html", "size": 10}, http.StatusBadRequest},
		{"svg", map[string]any{"fileName": "x.svg", "contentType": "image/svg+xml", "size": 10}, http.StatusBadRequest},
		{"oversized", map[string]any{"fileName": "x.png", "contentType": "image/png", "size": 25<<20 + 1}, http.StatusRequestEntityTooLarge},
	} {
		status, _ := a.call("POST", "/attachments", "/attachments", ada, bad.body)
		assert.Equal(t, bad.status, status, bad.name)
	}

	image := make([]byte, 3000)
	_, _ = rand.Read(image)
	status, up := a.call("POST", "/attachments", "/attachments", ada, map[string]any{"fileName": "cat.png", "contentType": "image/png", "size": len(image)})
	require.Equal(t, http.StatusCreated, status)
	id := up["attachmentId"].(string)

	send := func(cid string) (int, map[string]any) {
		return a.call("POST", "/messages/send", "/messages/send", ada, map[string]any{
			"receiverId": charlesID, "message": "cat.png", "messageType": "image", "clientMessageId": cid,
			"metadata": map[string]any{"attachmentId": id}})
	}
	status, _ = send("c-early")
	assert.Equal(t, http.StatusBadRequest, status, "not uploaded yet")

	put := func(body []byte, contentType string) int {
		req, err := http.NewRequest(up["uploadMethod"].(string), srv.URL+up["uploadUrl"].(string), bytes.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", contentType)
		resp, err := srv.Client().Do(req)
		require.NoError(t, err)
		_ = resp.Body.Close()
		return resp.StatusCode
	}
	assert.Equal(t, http.StatusBadRequest, put(image, "text/html"), "another type than declared")
	assert.Equal(t, http.StatusRequestEntityTooLarge, put(append(image, 0), "image/png"), "more than declared")
	require.Equal(t, http.StatusOK, put(image, "image/png"))
	status, _ = send("c-1")
	require.Equal(t, http.StatusAccepted, status)

	get := func(token string) *http.Response {
		req, err := http.NewRequest("GET", srv.URL+"/attachments/"+id, nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := noRedirect.Do(req)
		require.NoError(t, err)
		t.Cleanup(func() { _ = resp.Body.Close() })
		return resp
	}
	resp := get(eve)
	assert.Equal(t, http.StatusNotFound, resp.StatusCode, "a stranger")
	resp = get(charles)
	require.Equal(t, http.StatusFound, resp.StatusCode)
	location := resp.Header.Get("Location")
	require.True(t, strings.HasPrefix(location, "/blobs/"), location)
	download, err := srv.Client().Get(srv.URL + location)
	require.NoError(t, err)
	defer func() { _ = download.Body.Close() }()
	got, err := io.ReadAll(download.Body)
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, download.StatusCode)
	assert.Equal(t, image, got, "byte for byte")
	assert.Equal(t, "image/png", download.Header.Get("Content-Type"))
	assert.Equal(t, "nosniff", download.Header.Get("X-Content-Type-Options"))

	status, _ = a.call("POST", "/messages/send", "/messages/send", ada, map[string]any{
		"receiverId": charlesID, "message": "again", "messageType": "image", "clientMessageId": "c-2",
		"metadata": map[string]any{"attachmentId": id}})
	assert.Equal(t, http.StatusConflict, status, "one attachment, one message")

	tampered := strings.Replace(location, "sig=", "sig=x", 1)
	resp2, err := srv.Client().Get(srv.URL + tampered)
	require.NoError(t, err)
	_ = resp2.Body.Close()
	assert.Equal(t, http.StatusForbidden, resp2.StatusCode)
}
