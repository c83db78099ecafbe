package s3_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/adapters/s3"
	"github.com/messenger-go/messenger/ports/portstest"
	"github.com/messenger-go/messenger/testenv"
)

// bucket is a Store on a new bucket of the test server.
func bucket(t testing.TB) portstest.BlobTarget {
	t.Helper()
	e := testenv.S3(t)
	s, err := s3.New(t.Context(), s3.Config{Endpoint: e.Endpoint, Insecure: true, Region: e.Region, Bucket: e.Bucket,
		AccessKey: e.AccessKey, SecretKey: e.SecretKey, CreateBucket: true})
	require.NoError(t, err)
	require.NoError(t, s.Ping(t.Context()))
	return portstest.BlobTarget{Store: s, Client: http.DefaultClient}
}

func TestBlobStore(t *testing.T) {
	portstest.RunBlobStore(t, func(t *testing.T) portstest.BlobTarget { return bucket(t) })
}

func BenchmarkBlobRoundTrip1MiB(b *testing.B) {
	portstest.BenchmarkBlobRoundTrip(b, bucket(b), 1<<20)
}
