package load

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// echoServer answers every POST with 202 and the request's body, and counts
// the connections it accepted.
func echoServer(t *testing.T, h func(w http.ResponseWriter)) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.Method != http.MethodPost || r.URL.Path != "/messages/send" || r.Header.Get("Authorization") != "Bearer t" ||
			r.Header.Get("Content-Type") != "application/json" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		if h != nil {
			h(w)
		}
		w.WriteHeader(http.StatusAccepted)
		_, _ = w.Write(body)
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, &conns
}

func testPoster(t *testing.T, url string) *poster {
	t.Helper()
	p, err := newPoster([]string{url}, (&net.Dialer{}).DialContext)
	require.NoError(t, err)
	t.Cleanup(p.closeIdle)
	return p
}

func postOnce(t *testing.T, p *poster, body string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	status, answer, err := p.post(ctx, 0, "/messages/send", "Bearer t", []byte(body))
	require.NoError(t, err)
	return status, string(answer)
}

func TestPosterReusesItsConnection(t *testing.T) {
	srv, conns := echoServer(t, nil)
	p := testPoster(t, srv.URL)
	for _, body := range []string{`{"n":1}`, `{"n":2}`, `{"n":3}`} {
		status, answer := postOnce(t, p, body)
		assert.Equal(t, http.StatusAccepted, status)
		assert.Equal(t, body, answer)
	}
	assert.Equal(t, int64(1), conns.Load())
}

func TestPosterSendsAgainWhenTheServerClosedAnIdleConnection(t *testing.T) {
	srv, conns := echoServer(t, nil)
	p := testPoster(t, srv.URL)
	postOnce(t, p, `{"n":1}`)
	srv.CloseClientConnections()
	status, answer := postOnce(t, p, `{"n":2}`)
	assert.Equal(t, http.StatusAccepted, status)
	assert.Equal(t, `{"n":2}`, answer)
	assert.Equal(t, int64(2), conns.Load())
}

func TestPosterDropsAConnectionTheServerCloses(t *testing.T) {
	srv, conns := echoServer(t, func(w http.ResponseWriter) { w.Header().Set("Connection", "close") })
	p := testPoster(t, srv.URL)
	postOnce(t, p, `{"n":1}`)
	postOnce(t, p, `{"n":2}`)
	assert.Equal(t, int64(2), conns.Load())
	assert.Empty(t, p.idle[0])
}

func TestPosterBoundsAnExchangeByItsContext(t *testing.T) {
	srv, _ := echoServer(t, func(http.ResponseWriter) { time.Sleep(time.Second) })
	p := testPoster(t, srv.URL)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, _, err := p.post(ctx, 0, "/messages/send", "Bearer t", []byte(`{}`))
	assert.Equal(t, "timeout", errorKind(err))
}

func TestNewPosterRefusesATargetWithoutHTTP(t *testing.T) {
	_, err := newPoster([]string{"https://example.test"}, (&net.Dialer{}).DialContext)
	assert.Error(t, err)
}
