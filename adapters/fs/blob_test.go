package fs_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/adapters/fs"
	"github.com/messenger-go/messenger/ports/portstest"
)

// served is a Store in a fresh directory behind a test server.
func served(t testing.TB) portstest.BlobTarget {
	t.Helper()
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	s, err := fs.New(fs.Config{Dir: t.TempDir(), BaseURL: srv.URL})
	require.NoError(t, err)
	mux.Handle(s.Prefix(), s.Handler())
	return portstest.BlobTarget{Store: s, Client: srv.Client()}
}

func TestBlobStore(t *testing.T) {
	portstest.RunBlobStore(t, func(t *testing.T) portstest.BlobTarget { return served(t) })
}

func BenchmarkBlobRoundTrip1MiB(b *testing.B) {
	portstest.BenchmarkBlobRoundTrip(b, served(b), 1<<20)
}
