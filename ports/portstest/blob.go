package portstest

import (
	"bytes"
	"crypto/rand"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
)

// BlobTarget is a BlobStore under test and the HTTP client that reaches
// the URLs it signs.
type BlobTarget struct {
	Store  ports.BlobStore
	Client *http.Client
}

// RunBlobStore runs the contract of ports.BlobStore, uploading and
// downloading through the signed URLs over HTTP, as clients do. Expiry is
// the real time of the server that checks the URLs: one subtest waits for a
// URL to expire.
func RunBlobStore(t *testing.T, newStore func(t *testing.T) BlobTarget) {
	key := func() string { return domain.NewUUID() }
	payload := func(n int) []byte {
		b := make([]byte, n)
		_, _ = rand.Read(b)
		return b
	}
	soon := func() time.Time { return time.Now().Add(time.Minute) }
	do := func(t *testing.T, c *http.Client, method, url string, headers map[string]string, body []byte) (int, http.Header, []byte) {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), method, url, bytes.NewReader(body))
		require.NoError(t, err)
		for k, v := range headers {
			req.Header.Set(k, v)
		}
		resp, err := c.Do(req)
		require.NoError(t, err)
		defer func() { _ = resp.Body.Close() }()
		got, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, resp.Header, got
	}
	upload := func(t *testing.T, b BlobTarget, k, contentType string, body []byte) int {
		t.Helper()
		target, err := b.Store.UploadURL(t.Context(), k, ports.BlobUpload{ContentType: contentType, Size: int64(len(body)), Expires: soon()})
		require.NoError(t, err)
		require.NotEmpty(t, target.URL)
		require.Equal(t, contentType, target.Headers["Content-Type"], "the client is told the type to declare")
		status, _, _ := do(t, b.Client, target.Method, target.URL, target.Headers, body)
		return status
	}
	notFound := func(t *testing.T, s ports.BlobStore, k string) {
		t.Helper()
		_, err := s.Stat(t.Context(), k)
		assert.Equal(t, domain.KindNotFound, domain.KindOf(err), "stat of %s: %v", k, err)
	}

	t.Run("nothing is stored under a new key", func(t *testing.T) {
		notFound(t, newStore(t).Store, key())
	})

	t.Run("an upload through the signed URL is stored and downloaded byte for byte", func(t *testing.T) {
		b, k, body := newStore(t), key(), payload(70<<10)
		require.Equal(t, http.StatusOK, upload(t, b, k, "image/png", body))
		info, err := b.Store.Stat(t.Context(), k)
		require.NoError(t, err)
		assert.Equal(t, ports.BlobInfo{Size: int64(len(body)), ContentType: "image/png"}, info)

		url, err := b.Store.DownloadURL(t.Context(), k, ports.BlobDownload{ContentType: "image/png", Expires: soon()})
		require.NoError(t, err)
		status, h, got := do(t, b.Client, http.MethodGet, url, nil, nil)
		require.Equal(t, http.StatusOK, status)
		assert.True(t, bytes.Equal(body, got), "downloaded bytes differ")
		assert.Equal(t, "image/png", h.Get("Content-Type"))
		assert.NotContains(t, h.Get("Content-Disposition"), "attachment", "an image is served inline")
	})

	t.Run("a download with a file name is served as an attachment", func(t *testing.T) {
		b, k, body := newStore(t), key(), payload(1000)
		require.Equal(t, http.StatusOK, upload(t, b, k, "application/pdf", body))
		url, err := b.Store.DownloadURL(t.Context(), k, ports.BlobDownload{ContentType: "application/pdf", FileName: "report 1.pdf", Expires: soon()})
		require.NoError(t, err)
		status, h, got := do(t, b.Client, http.MethodGet, url, nil, nil)
		require.Equal(t, http.StatusOK, status)
		assert.Equal(t, body, got)
		assert.Equal(t, "application/pdf", h.Get("Content-Type"))
		assert.True(t, strings.HasPrefix(h.Get("Content-Disposition"), "attachment"), "Content-Disposition: %q", h.Get("Content-Disposition"))
		assert.Contains(t, h.Get("Content-Disposition"), "report 1.pdf")
	})

	t.Run("an upload of another type than signed is refused", func(t *testing.T) {
		b, k, body := newStore(t), key(), payload(100)
		target, err := b.Store.UploadURL(t.Context(), k, ports.BlobUpload{ContentType: "image/png", Size: int64(len(body)), Expires: soon()})
		require.NoError(t, err)
		status, _, _ := do(t, b.Client, target.Method, target.URL, map[string]string{"Content-Type": "text/html"}, body)
		assert.GreaterOrEqual(t, status, 400)
		notFound(t, b.Store, k)
	})

	t.Run("an upload larger than signed is refused or kept with its own size", func(t *testing.T) {
		b, k, body := newStore(t), key(), payload(100)
		target, err := b.Store.UploadURL(t.Context(), k, ports.BlobUpload{ContentType: "image/png", Size: 50, Expires: soon()})
		require.NoError(t, err)
		status, _, _ := do(t, b.Client, target.Method, target.URL, target.Headers, body)
		if status >= 400 {
			notFound(t, b.Store, k)
			return
		}
		info, err := b.Store.Stat(t.Context(), k)
		require.NoError(t, err)
		assert.Equal(t, int64(len(body)), info.Size, "the size checked at send is the real one")
	})

	t.Run("a URL signed for one key does not reach another", func(t *testing.T) {
		b, k, other, body := newStore(t), key(), key(), payload(100)
		target, err := b.Store.UploadURL(t.Context(), k, ports.BlobUpload{ContentType: "image/png", Size: int64(len(body)), Expires: soon()})
		require.NoError(t, err)
		require.Contains(t, target.URL, k)
		status, _, _ := do(t, b.Client, target.Method, strings.Replace(target.URL, k, other, 1), target.Headers, body)
		assert.GreaterOrEqual(t, status, 400)
		notFound(t, b.Store, other)
		notFound(t, b.Store, k)
	})

	t.Run("an expired download URL is refused", func(t *testing.T) {
		b, k, body := newStore(t), key(), payload(100)
		require.Equal(t, http.StatusOK, upload(t, b, k, "image/png", body))
		expires := time.Now().Add(time.Second).Truncate(time.Second).Add(time.Second)
		url, err := b.Store.DownloadURL(t.Context(), k, ports.BlobDownload{ContentType: "image/png", Expires: expires})
		require.NoError(t, err)
		time.Sleep(time.Until(expires) + 1100*time.Millisecond)
		status, _, got := do(t, b.Client, http.MethodGet, url, nil, nil)
		assert.Equal(t, http.StatusForbidden, status)
		assert.NotEqual(t, body, got)
	})

	t.Run("delete removes the blob and may be repeated", func(t *testing.T) {
		b, k, body := newStore(t), key(), payload(100)
		require.Equal(t, http.StatusOK, upload(t, b, k, "text/plain", body))
		require.NoError(t, b.Store.Delete(t.Context(), k))
		notFound(t, b.Store, k)
		require.NoError(t, b.Store.Delete(t.Context(), k))
		require.NoError(t, b.Store.Delete(t.Context(), key()), "a key never used")
	})

	t.Run("a key with a path in it is refused", func(t *testing.T) {
		s := newStore(t).Store
		for _, bad := range []string{"../x", "a/b", "", "a b"} {
			_, err := s.Stat(t.Context(), bad)
			assert.Equal(t, domain.KindInvalid, domain.KindOf(err), "key %q", bad)
			_, err = s.UploadURL(t.Context(), bad, ports.BlobUpload{ContentType: "image/png", Size: 1, Expires: soon()})
			assert.Equal(t, domain.KindInvalid, domain.KindOf(err), "key %q", bad)
		}
	})
}

// BenchmarkBlobRoundTrip measures what one attachment costs a BlobStore
// and its clients: signing an upload, the upload of size bytes over HTTP,
// the stat of the send check, signing a download and the download.
func BenchmarkBlobRoundTrip(b *testing.B, target BlobTarget, size int) {
	body := make([]byte, size)
	_, _ = rand.Read(body)
	ctx := b.Context()
	b.SetBytes(int64(2 * size))
	b.ResetTimer()
	for b.Loop() {
		key := domain.NewUUID()
		expires := time.Now().Add(time.Minute)
		up, err := target.Store.UploadURL(ctx, key, ports.BlobUpload{ContentType: "image/png", Size: int64(size), Expires: expires})
		require.NoError(b, err)
		req, err := http.NewRequestWithContext(ctx, up.Method, up.URL, bytes.NewReader(body))
		require.NoError(b, err)
		for k, v := range up.Headers {
			req.Header.Set(k, v)
		}
		resp, err := target.Client.Do(req)
		require.NoError(b, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		require.Equal(b, http.StatusOK, resp.StatusCode)
		info, err := target.Store.Stat(ctx, key)
		require.NoError(b, err)
		require.Equal(b, int64(size), info.Size)
		url, err := target.Store.DownloadURL(ctx, key, ports.BlobDownload{ContentType: "image/png", Expires: expires})
		require.NoError(b, err)
		resp, err = target.Client.Get(url)
		require.NoError(b, err)
		n, _ := io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		require.Equal(b, int64(size), n)
	}
}
