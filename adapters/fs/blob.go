package fs

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
)

// DefaultPrefix is the path under which the server serves the signed URLs.
const DefaultPrefix = "/blobs/"

// Config configures a Store.
type Config struct {
	// Dir holds the files; it is created when missing. Required.
	Dir string
	// Secret signs the URLs: at least 32 bytes. Nodes sharing Dir must
	// share it. Default: random, so URLs signed before a restart stop
	// working.
	Secret []byte
	// Prefix is the path the server mounts Handler on, ending in '/'.
	// Default DefaultPrefix.
	Prefix string
	// BaseURL, optional, is put before the paths of the URLs
	// (https://chat.example.com); empty: the URLs are paths on the server
	// that answered the client.
	BaseURL string
	// Clock, default the system clock, tells when a URL expired.
	Clock ports.Clock
	// Logger receives the causes of failed requests. Nil discards.
	Logger *slog.Logger
}

// Store is a ports.BlobStore on a directory and a ports.BlobServer.
type Store struct {
	dir     string
	secret  []byte
	prefix  string
	base    string
	now     func() time.Time
	log     *slog.Logger
	handler http.Handler
}

var (
	_ ports.BlobStore  = (*Store)(nil)
	_ ports.BlobServer = (*Store)(nil)
)

// New checks cfg, creates the directory and returns the store.
func New(cfg Config) (*Store, error) {
	if cfg.Dir == "" {
		return nil, errors.New("fs: Config.Dir is required")
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("fs: %w", err)
	}
	if cfg.Secret == nil {
		cfg.Secret = make([]byte, 32)
		_, _ = rand.Read(cfg.Secret)
	}
	if len(cfg.Secret) < 32 {
		return nil, errors.New("fs: Config.Secret must have at least 32 bytes")
	}
	if cfg.Prefix == "" {
		cfg.Prefix = DefaultPrefix
	}
	if !strings.HasPrefix(cfg.Prefix, "/") || !strings.HasSuffix(cfg.Prefix, "/") {
		return nil, errors.New("fs: Config.Prefix must begin and end with '/'")
	}
	if cfg.Clock == nil {
		cfg.Clock = ports.SystemClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Store{dir: cfg.Dir, secret: cfg.Secret, prefix: cfg.Prefix, base: strings.TrimSuffix(cfg.BaseURL, "/"),
		now: cfg.Clock.Now, log: cfg.Logger}
	mux := http.NewServeMux()
	mux.HandleFunc("PUT "+s.prefix+"{key}", s.upload)
	mux.HandleFunc("GET "+s.prefix+"{key}", s.download)
	mux.HandleFunc(s.prefix, func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", "use the signed URL's method")
	})
	s.handler = mux
	return s, nil
}

// Prefix implements ports.BlobServer.
func (s *Store) Prefix() string { return s.prefix }

// Handler implements ports.BlobServer: PUT uploads, GET (and HEAD)
// downloads, each with a URL this store signed.
func (s *Store) Handler() http.Handler { return s.handler }

// Query parameters of the signed URLs.
const (
	qExpires = "expires"
	qType    = "type"
	qSize    = "size"
	qName    = "name"
	qSig     = "sig"
)

// sign returns the signature of method on key with the parameters q (all
// but the signature), in a fixed order.
func (s *Store) sign(method, key string, q url.Values) string {
	m := hmac.New(sha256.New, s.secret)
	for _, part := range []string{method, key, q.Get(qExpires), q.Get(qType), q.Get(qSize), q.Get(qName)} {
		fmt.Fprintf(m, "%d:%s\n", len(part), part)
	}
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// signedURL returns the URL of key for method with q and its signature.
func (s *Store) signedURL(method, key string, q url.Values) string {
	q.Set(qSig, s.sign(method, key, q))
	return s.base + s.prefix + key + "?" + q.Encode()
}

// UploadURL implements ports.BlobStore: a PUT of exactly u.Size bytes
// with the Content-Type u.ContentType.
func (s *Store) UploadURL(_ context.Context, key string, u ports.BlobUpload) (ports.UploadTarget, error) {
	if err := ports.CheckBlobKey(key); err != nil {
		return ports.UploadTarget{}, err
	}
	q := url.Values{qExpires: {strconv.FormatInt(u.Expires.Unix(), 10)}, qType: {u.ContentType}, qSize: {strconv.FormatInt(u.Size, 10)}}
	return ports.UploadTarget{
		URL: s.signedURL(http.MethodPut, key, q), Method: http.MethodPut,
		Headers: map[string]string{"Content-Type": u.ContentType},
	}, nil
}

// DownloadURL implements ports.BlobStore.
func (s *Store) DownloadURL(_ context.Context, key string, d ports.BlobDownload) (string, error) {
	if err := ports.CheckBlobKey(key); err != nil {
		return "", err
	}
	q := url.Values{qExpires: {strconv.FormatInt(d.Expires.Unix(), 10)}, qType: {d.ContentType}}
	if d.FileName != "" {
		q.Set(qName, d.FileName)
	}
	return s.signedURL(http.MethodGet, key, q), nil
}

// meta is what is kept beside a file.
type meta struct {
	ContentType string `json:"contentType"`
}

func (s *Store) path(key string) string     { return filepath.Join(s.dir, key) }
func (s *Store) metaPath(key string) string { return filepath.Join(s.dir, key+".meta") }

// Stat implements ports.BlobStore.
func (s *Store) Stat(_ context.Context, key string) (ports.BlobInfo, error) {
	if err := ports.CheckBlobKey(key); err != nil {
		return ports.BlobInfo{}, err
	}
	raw, err := os.ReadFile(s.metaPath(key))
	if errors.Is(err, fs.ErrNotExist) {
		return ports.BlobInfo{}, domain.Errorf(domain.KindNotFound, "no such blob")
	}
	if err != nil {
		return ports.BlobInfo{}, domain.Wrap(domain.KindUnavailable, err, "blob store unavailable")
	}
	var m meta
	if err := json.Unmarshal(raw, &m); err != nil {
		return ports.BlobInfo{}, domain.Wrap(domain.KindInternal, err, "blob metadata unreadable")
	}
	fi, err := os.Stat(s.path(key))
	if err != nil {
		return ports.BlobInfo{}, domain.Wrap(domain.KindUnavailable, err, "blob store unavailable")
	}
	return ports.BlobInfo{Size: fi.Size(), ContentType: m.ContentType}, nil
}

// Delete implements ports.BlobStore: the metadata goes first, so a
// half-deleted blob is one Stat does not find.
func (s *Store) Delete(_ context.Context, key string) error {
	if err := ports.CheckBlobKey(key); err != nil {
		return err
	}
	for _, p := range []string{s.metaPath(key), s.path(key)} {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return domain.Wrap(domain.KindUnavailable, err, "blob not deleted")
		}
	}
	return nil
}

// verify checks r's signature for method and expiry, and returns its key.
func (s *Store) verify(w http.ResponseWriter, r *http.Request, method string) (string, url.Values, bool) {
	key, q := r.PathValue("key"), r.URL.Query()
	exp, err := strconv.ParseInt(q.Get(qExpires), 10, 64)
	if ports.CheckBlobKey(key) != nil || err != nil || !hmac.Equal([]byte(q.Get(qSig)), []byte(s.sign(method, key, q))) {
		writeError(w, http.StatusForbidden, "forbidden", "invalid signature")
		return "", nil, false
	}
	if !s.now().Before(time.Unix(exp, 0)) {
		writeError(w, http.StatusForbidden, "forbidden", "the URL expired")
		return "", nil, false
	}
	return key, q, true
}

// upload stores the body of a signed PUT: exactly the signed size, of the
// signed type, once. The file is written aside and renamed into place, and
// its metadata last, so Stat sees a complete upload or none.
func (s *Store) upload(w http.ResponseWriter, r *http.Request) {
	key, q, ok := s.verify(w, r, http.MethodPut)
	if !ok {
		return
	}
	size, _ := strconv.ParseInt(q.Get(qSize), 10, 64)
	if r.Header.Get("Content-Type") != q.Get(qType) {
		writeError(w, http.StatusBadRequest, "invalid", "Content-Type must be "+q.Get(qType))
		return
	}
	if r.ContentLength > size {
		writeError(w, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("the upload must have %d bytes", size))
		return
	}
	if _, err := os.Stat(s.metaPath(key)); err == nil {
		writeError(w, http.StatusConflict, "conflict", "already uploaded")
		return
	}
	tmp, err := os.CreateTemp(s.dir, ".upload-*")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	defer func() { _ = os.Remove(tmp.Name()) }()
	n, err := io.Copy(tmp, io.LimitReader(r.Body, size+1))
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	switch {
	case err != nil:
		s.fail(w, r, err)
		return
	case n > size:
		writeError(w, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("the upload must have %d bytes", size))
		return
	case n < size:
		writeError(w, http.StatusBadRequest, "invalid", fmt.Sprintf("the upload must have %d bytes, not %d", size, n))
		return
	}
	m, _ := json.Marshal(meta{ContentType: q.Get(qType)})
	if err := os.Rename(tmp.Name(), s.path(key)); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := os.WriteFile(s.metaPath(key), m, 0o600); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// download serves a signed GET, with headers that keep a browser from
// running anything in it: the signed type, nosniff, a sandboxing CSP, and a
// download disposition for anything signed with a file name.
func (s *Store) download(w http.ResponseWriter, r *http.Request) {
	key, q, ok := s.verify(w, r, http.MethodGet)
	if !ok {
		return
	}
	f, err := os.Open(s.path(key))
	if errors.Is(err, fs.ErrNotExist) {
		writeError(w, http.StatusNotFound, "not_found", "no such blob")
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	defer func() { _ = f.Close() }()
	fi, err := f.Stat()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", q.Get(qType))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	h.Set("Cache-Control", "private, max-age=300")
	if name := q.Get(qName); name != "" {
		h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
	} else {
		h.Set("Content-Disposition", "inline")
	}
	http.ServeContent(w, r, "", fi.ModTime(), f)
}

func (s *Store) fail(w http.ResponseWriter, r *http.Request, err error) {
	s.log.ErrorContext(r.Context(), "blob request failed", "path", r.URL.Path, "err", err)
	writeError(w, http.StatusServiceUnavailable, "unavailable", "storage unavailable")
}

func writeError(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": code, "message": message}})
}
