package server_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/client"
	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
	"github.com/messenger-go/messenger/testenv"
)

// The download URLs of the cluster test expire this soon, so that the test
// sees one refused.
const clusterDownloadTTL = 3 * time.Second

// withS3 stores the stack's attachments in a new bucket of the S3 server,
// which allows any origin to upload and download (the browsers' pages).
func (s *stack) withS3(t *testing.T) testenv.S3Env {
	t.Helper()
	e := testenv.S3(t)
	for k, v := range map[string]string{
		"MESSENGER_S3_ENDPOINT": e.Endpoint, "MESSENGER_S3_BUCKET": e.Bucket, "MESSENGER_S3_REGION": e.Region,
		"MESSENGER_S3_ACCESS_KEY": e.AccessKey, "MESSENGER_S3_SECRET_KEY": e.SecretKey,
		"MESSENGER_S3_INSECURE": "true", "MESSENGER_S3_CREATE_BUCKET": "true", "MESSENGER_S3_CORS_ORIGINS": "*",
	} {
		s.env[k] = v
	}
	return e
}

// declareAttachment asks base for an upload of u's.
func declareAttachment(t *testing.T, u *user, name, contentType string, size int) (ports.AttachmentUpload, error) {
	t.Helper()
	var up ports.AttachmentUpload
	err := u.Do(context.Background(), "POST", "/attachments",
		map[string]any{"fileName": name, "contentType": contentType, "size": size}, &up)
	return up, err
}

// upload sends body as told by up, with contentType, and returns the status.
func upload(t *testing.T, up ports.AttachmentUpload, contentType string, body []byte) int {
	t.Helper()
	req, err := http.NewRequest(up.UploadMethod, up.UploadURL, bytes.NewReader(body))
	require.NoError(t, err)
	for k, v := range up.UploadHeaders {
		req.Header.Set(k, v)
	}
	req.Header.Set("Content-Type", contentType)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	_ = resp.Body.Close()
	return resp.StatusCode
}

// sendAttachment sends a message of typ carrying id from u to to.
func sendAttachment(u, to *user, typ string, id domain.AttachmentID) error {
	meta, _ := json.Marshal(map[string]string{"attachmentId": string(id)})
	_, err := u.Send(context.Background(), client.SendRequest{ReceiverID: to.id, Message: "a picture", MessageType: typ, Metadata: meta})
	return err
}

// getAttachment asks base for id as u, without following the redirect.
func getAttachment(t *testing.T, base string, u *user, id domain.AttachmentID) *http.Response {
	t.Helper()
	req, err := http.NewRequest("GET", base+"/attachments/"+string(id), nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+u.Token())
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	require.NoError(t, err)
	_ = resp.Body.Close()
	return resp
}

// fetch downloads url and returns the status, the body and the headers.
func fetch(t *testing.T, url string) (int, []byte, http.Header) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, body, resp.Header
}

// TestClusterAttachmentThroughS3 has alice, on node 1, upload an image
// straight to the S3-compatible server and send it; bob, on node 2, gets
// the message and downloads the image byte for byte through a URL node 2
// redirects him to. A stranger, an expired URL, a wrong size, a wrong type
// and an oversized upload are each refused.
func TestClusterAttachmentThroughS3(t *testing.T) {
	s := newStack(t)
	e := s.withS3(t)
	s.env["MESSENGER_ATTACHMENT_MAX_BYTES"] = "1048576"
	s.env["MESSENGER_ATTACHMENT_DOWNLOAD_TTL"] = clusterDownloadTTL.String()
	n1, n2 := s.start(t, "node-1"), s.start(t, "node-2")
	alice, bob, eve := register(t, n1.base, "Alice"), register(t, n2.base, "Bob"), register(t, n2.base, "Eve")
	befriend(t, alice, bob)
	bob.connect(t, n2.base)

	_, err := declareAttachment(t, alice, "page.html", "text/html", 100)
	apiError(t, err, http.StatusBadRequest, "invalid")
	_, err = declareAttachment(t, alice, "page.svg", "image/svg+xml", 100)
	apiError(t, err, http.StatusBadRequest, "invalid")
	_, err = declareAttachment(t, alice, "huge.png", "image/png", 1<<20+1)
	apiError(t, err, http.StatusRequestEntityTooLarge, "too_large")

	image := make([]byte, 300<<10)
	_, _ = rand.Read(image)
	up, err := declareAttachment(t, alice, "cat.png", "image/png", len(image))
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(up.UploadURL, "http://"+e.Endpoint+"/"), "the upload goes to S3: %s", up.UploadURL)
	apiError(t, sendAttachment(alice, bob, "image", up.AttachmentID), http.StatusBadRequest, "invalid") // not uploaded yet
	require.Equal(t, http.StatusOK, upload(t, up, "image/png", image))

	wrongType, err := declareAttachment(t, alice, "b.png", "image/png", 100)
	require.NoError(t, err)
	assert.Equal(t, http.StatusForbidden, upload(t, wrongType, "text/html", make([]byte, 100)), "S3 checks the signed type")
	apiError(t, sendAttachment(alice, bob, "image", wrongType.AttachmentID), http.StatusBadRequest, "invalid")
	wrongSize, err := declareAttachment(t, alice, "c.png", "image/png", 100)
	require.NoError(t, err)
	assert.Equal(t, http.StatusForbidden, upload(t, wrongSize, "image/png", make([]byte, 101)), "S3 checks the signed length")
	apiError(t, sendAttachment(alice, bob, "image", wrongSize.AttachmentID), http.StatusBadRequest, "invalid")
	evesPicture, err := declareAttachment(t, eve, "d.png", "image/png", 10)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, upload(t, evesPicture, "image/png", make([]byte, 10)))
	apiError(t, sendAttachment(alice, bob, "image", evesPicture.AttachmentID), http.StatusNotFound, "not_found")

	require.NoError(t, sendAttachment(alice, bob, "image", up.AttachmentID))
	m := bob.messages(t, 1)[0]
	assert.Equal(t, domain.MessageImage, m.Type)
	assert.JSONEq(t, `{"attachmentId":"`+string(up.AttachmentID)+`"}`, string(m.Metadata))

	resp := getAttachment(t, n2.base, eve, up.AttachmentID)
	assert.Equal(t, http.StatusNotFound, resp.StatusCode, "a stranger")
	resp = getAttachment(t, n2.base, bob, up.AttachmentID)
	require.Equal(t, http.StatusFound, resp.StatusCode)
	location := resp.Header.Get("Location")
	require.True(t, strings.HasPrefix(location, "http://"+e.Endpoint+"/"), "the download comes from S3: %s", location)
	status, got, h := fetch(t, location)
	require.Equal(t, http.StatusOK, status)
	assert.True(t, bytes.Equal(image, got), "bob gets alice's bytes, %d of %d", len(got), len(image))
	assert.Equal(t, "image/png", h.Get("Content-Type"))
	assert.Equal(t, "inline", h.Get("Content-Disposition"))

	time.Sleep(clusterDownloadTTL + 1500*time.Millisecond)
	status, got, _ = fetch(t, location)
	assert.Equal(t, http.StatusForbidden, status, "an expired URL")
	assert.False(t, bytes.Equal(image, got))
	resp = getAttachment(t, n1.base, alice, up.AttachmentID)
	assert.Equal(t, http.StatusFound, resp.StatusCode, "a new URL for the uploader, from node 1")
}
