package server_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/client"
	"github.com/messenger-go/messenger/domain"
)

// get answers a GET of url with its status and body.
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(body)
}

func TestMetricsAndProfilesAreOffThePublicListener(t *testing.T) {
	for _, tc := range []struct {
		name  string
		pprof string
	}{
		{"metrics only", "false"},
		{"metrics and profiles", "true"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := startListening(t, map[string]string{"MESSENGER_PPROF": tc.pprof})
			require.NotEmpty(t, l.MetricsAddr)
			require.NotEqual(t, l.Addr, l.MetricsAddr)

			status, _ := get(t, baseURL(l)+"/metrics")
			assert.Equal(t, http.StatusNotFound, status, "/metrics is not on the public listener")
			status, _ = get(t, baseURL(l)+"/debug/pprof/")
			assert.Equal(t, http.StatusNotFound, status, "profiles are not on the public listener")

			status, body := get(t, "http://"+l.MetricsAddr+"/metrics")
			assert.Equal(t, http.StatusOK, status)
			assert.Contains(t, body, "messenger_open_sockets")
			assert.Contains(t, body, "messenger_http_request_duration_seconds", "public requests are measured")

			status, _ = get(t, "http://"+l.MetricsAddr+"/debug/pprof/cmdline")
			if tc.pprof == "true" {
				assert.Equal(t, http.StatusOK, status)
			} else {
				assert.Equal(t, http.StatusNotFound, status, "profiles only when MESSENGER_PPROF is set")
			}
		})
	}
}

func TestMetricsListenerCanBeTurnedOff(t *testing.T) {
	l := startListening(t, map[string]string{"MESSENGER_METRICS_ADDR": "off"})
	assert.Empty(t, l.MetricsAddr)
	status, _ := get(t, baseURL(l)+"/healthz")
	assert.Equal(t, http.StatusOK, status)
}

// rawRequest writes head to the server at addr and returns the connection.
func rawRequest(t *testing.T, addr, head string) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	_, err = io.WriteString(conn, head)
	require.NoError(t, err)
	return conn
}

func TestARequestBodyTrickledInIsCutOffAtTheReadTimeout(t *testing.T) {
	l := startListening(t, map[string]string{"MESSENGER_READ_TIMEOUT": "1s"})
	conn := rawRequest(t, l.Addr, "POST /auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{")

	// One byte every 200 ms: the headers were quick, the body never ends.
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				if _, err := conn.Write([]byte(" ")); err != nil {
					return
				}
			}
		}
	}()

	start := time.Now()
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(15*time.Second)))
	_, err := io.ReadAll(conn) // whatever the server says, then its close
	took := time.Since(start)
	var ne net.Error
	timedOut := errors.As(err, &ne) && ne.Timeout()
	assert.False(t, timedOut, "the server still held the connection after 15 s")
	assert.Less(t, took, 10*time.Second)
}

func TestHeadersAreCapped(t *testing.T) {
	l := startListening(t, nil)
	for _, tc := range []struct {
		name   string
		size   int
		status int
	}{
		{"32 KiB of headers", 32 << 10, http.StatusOK},
		{"900 KB of headers", 900_000, http.StatusRequestHeaderFieldsTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			head := fmt.Sprintf("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: %s\r\nConnection: close\r\n\r\n", strings.Repeat("a", tc.size))
			conn := rawRequest(t, l.Addr, head)
			require.NoError(t, conn.SetReadDeadline(time.Now().Add(15*time.Second)))
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			require.NoError(t, err)
			resp.Body.Close()
			assert.Equal(t, tc.status, resp.StatusCode)
		})
	}
}

func TestAnIdleConnectionIsClosedAtTheIdleTimeout(t *testing.T) {
	l := startListening(t, map[string]string{"MESSENGER_IDLE_TIMEOUT": "1s"})
	conn := rawRequest(t, l.Addr, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(15*time.Second)))
	r := bufio.NewReader(conn)
	resp, err := http.ReadResponse(r, nil)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	_, err = r.ReadByte() // nothing more comes: the server closes the idle connection
	assert.ErrorIs(t, err, io.EOF, "the keep-alive connection was closed by the server, not by our deadline")
}

// TestAWebSocketOutlivesTheHTTPTimeouts: the read, write and idle timeouts
// bound REST requests; a socket upgraded on such a server stays open past
// them and still delivers.
func TestAWebSocketOutlivesTheHTTPTimeouts(t *testing.T) {
	base := startServer(t, map[string]string{
		"MESSENGER_READ_TIMEOUT":  "1s",
		"MESSENGER_WRITE_TIMEOUT": "1s",
		"MESSENGER_IDLE_TIMEOUT":  "1s",
	})
	alice, bob := register(t, base, "Alice"), register(t, base, "Bob")
	befriend(t, alice, bob)
	bob.connect(t, base)

	// Past every deadline the connection had when it was upgraded.
	time.Sleep(2500 * time.Millisecond)

	_, err := alice.Send(context.Background(), client.SendRequest{ReceiverID: bob.id, Message: "still there?", ClientMessageID: "late"})
	require.NoError(t, err)
	got := bob.messages(t, 1)
	assert.Equal(t, "still there?", got[0].Text)
	assert.Equal(t, domain.Sequence(1), got[0].Sequence)
}
