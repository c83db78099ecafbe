package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"
)

//go:embed static
var static embed.FS

// ContentSecurityPolicy is sent with every answer of the Handler. Scripts and
// styles come only from the messenger itself (no inline code, so an injected
// tag cannot run), the API and the WebSocket are reached on the same host, and
// no other site may frame the client.
const ContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; " +
	"img-src 'self' data: blob:; connect-src 'self' ws: wss:; frame-ancestors 'none'; " +
	"base-uri 'none'; form-action 'self'"

// Config configures a Handler. Every field is optional.
type Config struct {
	// Files holds the client: index.html at its root, the assets under app/.
	// Default: the client embedded in this package.
	Files fs.FS
	// ConnectSources are origins (scheme://host[:port]) besides the page's
	// that the client may fetch from: an S3 store its attachments are
	// uploaded to and downloaded from. Added to the policy's connect-src.
	ConnectSources []string
}

// Handler serves the client. Files are read once, when it is made.
type Handler struct {
	files map[string]file // by URL path: "/" and "/app/..."
	mux   *http.ServeMux
	csp   string
}

// file is one asset, ready to serve.
type file struct {
	body        []byte
	etag        string
	contentType string
}

// contentTypes are the types of the client's files, fixed here rather than
// read from the machine's MIME tables so that every node answers alike.
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".svg":  "image/svg+xml",
	".png":  "image/png",
	".json": "application/json",
	".txt":  "text/plain; charset=utf-8",
}

// New reads the client's files and returns the Handler that serves them.
func New(cfg Config) (*Handler, error) {
	files := cfg.Files
	if files == nil {
		files = Files()
	}
	csp, err := policy(cfg.ConnectSources)
	if err != nil {
		return nil, err
	}
	h := &Handler{files: map[string]file{}, csp: csp}
	index, err := load(files, "index.html")
	if err != nil {
		return nil, fmt.Errorf("web: the client needs index.html: %w", err)
	}
	h.files["/"] = index
	err = fs.WalkDir(files, "app", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		f, err := load(files, name)
		if err != nil {
			return err
		}
		h.files["/"+name] = f
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("web: reading the client's assets: %w", err)
	}
	h.mux = http.NewServeMux()
	h.Routes(h.mux)
	return h, nil
}

// policy is ContentSecurityPolicy with sources added to its connect-src.
func policy(sources []string) (string, error) {
	if len(sources) == 0 {
		return ContentSecurityPolicy, nil
	}
	for _, s := range sources {
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" || u.RawQuery != "" ||
			strings.ContainsAny(s, " ;'") {
			return "", fmt.Errorf("web: connect source %q must be an origin like https://host[:port]", s)
		}
	}
	const connect = "connect-src 'self' ws: wss:"
	return strings.Replace(ContentSecurityPolicy, connect, connect+" "+strings.Join(sources, " "), 1), nil
}

func load(files fs.FS, name string) (file, error) {
	body, err := fs.ReadFile(files, name)
	if err != nil {
		return file{}, err
	}
	ct, ok := contentTypes[path.Ext(name)]
	if !ok {
		return file{}, fmt.Errorf("web: no content type for %s", name)
	}
	sum := sha256.Sum256(body)
	return file{body: body, etag: `"` + hex.EncodeToString(sum[:12]) + `"`, contentType: ct}, nil
}

// Routes registers GET / (the page, and only the root: every other path stays
// free for the API) and GET /app/ (the assets) on mux.
func (h *Handler) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /{$}", h.serve)
	mux.HandleFunc("GET /app/", h.serve)
}

// ServeHTTP serves the page and the assets; any other path is 404.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

func (h *Handler) serve(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	securityHeaders(hdr, h.csp)
	f, ok := h.files[r.URL.Path]
	if !ok {
		hdr.Set("Content-Type", "text/plain; charset=utf-8")
		hdr.Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte("404 page not found\n"))
		return
	}
	hdr.Set("Content-Type", f.contentType)
	// The names are not hashed, so browsers revalidate every time and get a
	// 304 while the binary is the same.
	hdr.Set("Cache-Control", "no-cache")
	hdr.Set("ETag", f.etag)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(f.body))
}

// securityHeaders sets the headers every answer of the client carries.
func securityHeaders(hdr http.Header, csp string) {
	hdr.Set("Content-Security-Policy", csp)
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Referrer-Policy", "no-referrer")
	hdr.Set("X-Frame-Options", "DENY")
	hdr.Set("Cross-Origin-Opener-Policy", "same-origin")
}

// Files returns the embedded client: index.html at the root, the assets
// under app/.
func Files() fs.FS {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // the directory is embedded; it is there
	}
	return sub
}
