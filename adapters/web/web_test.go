package web_test

import (
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"path"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/adapters/web"
)

func serve(t *testing.T, h http.Handler, method, target string, hdr map[string]string) *http.Response {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func newHandler(t *testing.T) *web.Handler {
	t.Helper()
	h, err := web.New(web.Config{})
	require.NoError(t, err)
	return h
}

func requireSecurityHeaders(t *testing.T, resp *http.Response) {
	t.Helper()
	csp := resp.Header.Get("Content-Security-Policy")
	require.Equal(t, web.ContentSecurityPolicy, csp)
	for _, directive := range []string{"default-src 'self'", "script-src 'self'", "frame-ancestors 'none'", "base-uri 'none'"} {
		require.Contains(t, csp, directive)
	}
	require.NotContains(t, csp, "unsafe-inline")
	require.NotContains(t, csp, "unsafe-eval")
	require.Equal(t, "nosniff", resp.Header.Get("X-Content-Type-Options"))
	require.Equal(t, "no-referrer", resp.Header.Get("Referrer-Policy"))
	require.Equal(t, "DENY", resp.Header.Get("X-Frame-Options"))
}

func TestHandlerServesTheClient(t *testing.T) {
	h := newHandler(t)
	tests := []struct {
		name, target, contentType, contains string
	}{
		{"page", "/", "text/html; charset=utf-8", `<script type="module" src="/app/main.js"></script>`},
		{"entry module", "/app/main.js", "text/javascript; charset=utf-8", "import"},
		{"view module", "/app/views/chat.js", "text/javascript; charset=utf-8", "export class ChatView"},
		{"style", "/app/style.css", "text/css; charset=utf-8", ":root"},
		{"icon", "/app/icon.svg", "image/svg+xml", "<svg"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := serve(t, h, http.MethodGet, tt.target, nil)
			require.Equal(t, http.StatusOK, resp.StatusCode)
			require.Equal(t, tt.contentType, resp.Header.Get("Content-Type"))
			require.Equal(t, "no-cache", resp.Header.Get("Cache-Control"))
			require.Regexp(t, `^"[0-9a-f]{24}"$`, resp.Header.Get("ETag"))
			requireSecurityHeaders(t, resp)
			body, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			require.Contains(t, string(body), tt.contains)

			again := serve(t, h, http.MethodGet, tt.target, map[string]string{"If-None-Match": resp.Header.Get("ETag")})
			require.Equal(t, http.StatusNotModified, again.StatusCode)
			requireSecurityHeaders(t, again)

			head := serve(t, h, http.MethodHead, tt.target, nil)
			require.Equal(t, http.StatusOK, head.StatusCode)
			require.Equal(t, tt.contentType, head.Header.Get("Content-Type"))
		})
	}
}

func TestHandlerRefusesWhatItDoesNotServe(t *testing.T) {
	h := newHandler(t)
	tests := []struct {
		name, method, target string
		status               int
	}{
		{"unknown asset", http.MethodGet, "/app/nope.js", http.StatusNotFound},
		{"the directory", http.MethodGet, "/app/", http.StatusNotFound},
		{"index by name", http.MethodGet, "/index.html", http.StatusNotFound},
		{"an API path", http.MethodGet, "/messages/conversations", http.StatusNotFound},
		{"a write", http.MethodPost, "/", http.StatusMethodNotAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := serve(t, h, tt.method, tt.target, nil)
			require.Equal(t, tt.status, resp.StatusCode)
			if tt.status == http.StatusNotFound && strings.HasPrefix(tt.target, "/app/") {
				requireSecurityHeaders(t, resp)
			}
		})
	}
}

func TestHandlerLeavesOtherRoutesToTheirOwners(t *testing.T) {
	h := newHandler(t)
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	h.Routes(mux)
	for target, status := range map[string]int{
		"/":             http.StatusOK,
		"/app/main.js":  http.StatusOK,
		"/healthz":      http.StatusTeapot,
		"/auth/login":   http.StatusTeapot,
		"/apple":        http.StatusTeapot,
		"/favicon.ico":  http.StatusTeapot,
		"/friends/list": http.StatusTeapot,
	} {
		require.Equal(t, status, serve(t, mux, http.MethodGet, target, nil).StatusCode, target)
	}
	require.Equal(t, http.StatusTeapot, serve(t, mux, http.MethodPost, "/", nil).StatusCode)
}

func TestNewNeedsAnIndex(t *testing.T) {
	_, err := web.New(web.Config{Files: fstest.MapFS{"app/main.js": {Data: []byte("")}}})
	require.ErrorContains(t, err, "index.html")

	_, err = web.New(web.Config{Files: fstest.MapFS{"index.html": {Data: []byte("")}, "app/x.exe": {Data: []byte("")}}})
	require.ErrorContains(t, err, "content type")

	h, err := web.New(web.Config{Files: fstest.MapFS{"index.html": {Data: []byte("<p>mine</p>")}}})
	require.NoError(t, err)
	body, _ := io.ReadAll(serve(t, h, http.MethodGet, "/", nil).Body)
	require.Equal(t, "<p>mine</p>", string(body))
}

// The client must hold up under its own policy and never parse text as HTML.
// These checks read the sources, so a change that breaks them fails here
// before it fails in a browser.
func TestClientSources(t *testing.T) {
	files := web.Files()
	imports := regexp.MustCompile(`(?m)^import .* from '([^']+)';$`)
	forbidden := regexp.MustCompile(`innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function\(|setAttribute\('style'`)
	var modules int
	err := fs.WalkDir(files, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(files, name)
		require.NoError(t, err)
		src := string(data)
		switch path.Ext(name) {
		case ".html":
			for _, tag := range regexp.MustCompile(`<script[^>]*>`).FindAllString(src, -1) {
				require.Contains(t, tag, `src="/app/`, "%s: inline script %s", name, tag)
			}
			require.NotRegexp(t, `\son[a-z]+=|\sstyle=|<style`, src, "%s: inline handler or style", name)
		case ".js":
			modules++
			require.NotRegexp(t, forbidden, src, "%s parses or runs text as code", name)
			for _, m := range imports.FindAllStringSubmatch(src, -1) {
				target := path.Join(path.Dir(name), m[1])
				_, err := fs.Stat(files, target)
				require.NoError(t, err, "%s imports %s, which is not embedded", name, m[1])
			}
		}
		return nil
	})
	require.NoError(t, err)
	require.GreaterOrEqual(t, modules, 5)
}

func TestConnectSourcesJoinThePolicy(t *testing.T) {
	h, err := web.New(web.Config{ConnectSources: []string{"https://s3.example.com", "http://127.0.0.1:9000"}})
	require.NoError(t, err)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	csp := rec.Header().Get("Content-Security-Policy")
	assert.Contains(t, csp, "connect-src 'self' ws: wss: https://s3.example.com http://127.0.0.1:9000;")
	assert.Contains(t, csp, "script-src 'self';", "the rest of the policy stays")

	for _, bad := range []string{"s3.example.com", "https://s3.example.com/path", "https://a.example 'unsafe-inline'", "javascript:x", "https://a;b"} {
		_, err := web.New(web.Config{ConnectSources: []string{bad}})
		assert.Error(t, err, bad)
	}
}
