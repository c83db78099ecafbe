package server

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"
)

// certReloader serves a certificate from a pair of PEM files and reads them
// again when either changes, so a renewed certificate (certbot, cert-manager's
// Secret update) is served without a restart. A pair that does not load (the
// two files caught between their updates) leaves the last good certificate
// in service until the next handshake tries again.
type certReloader struct {
	certFile, keyFile string
	logger            *slog.Logger

	mu      sync.Mutex
	cert    *tls.Certificate
	version [2]fileVersion
}

// fileVersion is what tells that a file was replaced.
type fileVersion struct {
	mod  time.Time
	size int64
}

// newCertReloader loads the pair once; a pair that does not load is an error.
func newCertReloader(certFile, keyFile string, logger *slog.Logger) (*certReloader, error) {
	r := &certReloader{certFile: certFile, keyFile: keyFile, logger: logger}
	if err := r.reload(); err != nil {
		return nil, err
	}
	return r, nil
}

// GetCertificate is tls.Config's hook: it checks the files' versions (two
// stats per handshake) and reloads them when they moved.
func (r *certReloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if v, err := r.versions(); err == nil && v != r.version {
		if err := r.reloadLocked(); err != nil {
			r.logger.Warn("tls: the certificate files changed but do not load; serving the previous certificate", "err", err)
		}
	}
	return r.cert, nil
}

func (r *certReloader) reload() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.reloadLocked()
}

func (r *certReloader) reloadLocked() error {
	v, err := r.versions()
	if err != nil {
		return err
	}
	cert, err := tls.LoadX509KeyPair(r.certFile, r.keyFile)
	if err != nil {
		return fmt.Errorf("MESSENGER_TLS_CERT_FILE, MESSENGER_TLS_KEY_FILE: %w", err)
	}
	if r.cert != nil {
		r.logger.Info("tls: certificate reloaded", "file", r.certFile, "expires", cert.Leaf.NotAfter)
	}
	r.cert, r.version = &cert, v
	return nil
}

// versions stats both files, following symbolic links (a Kubernetes Secret
// volume swaps a link to a new directory).
func (r *certReloader) versions() ([2]fileVersion, error) {
	var v [2]fileVersion
	for i, name := range []string{r.certFile, r.keyFile} {
		fi, err := os.Stat(name)
		if err != nil {
			return v, err
		}
		v[i] = fileVersion{mod: fi.ModTime(), size: fi.Size()}
	}
	return v, nil
}

// tlsConfig is the server's TLS configuration: TLS 1.2 at least, with Go's
// default cipher suites (AEAD with forward secrecy only).
func tlsConfig(r *certReloader) *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: r.GetCertificate}
}
