package wire_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/wire"
)

// A hijacked connection keeps small buffers, loses none of the bytes the
// server had already read past the request, and writes through the CorkConn.
func TestHijackKeepsSmallBuffersAndPendingBytes(t *testing.T) {
	type hijacked struct {
		brw *bufio.ReadWriter
		rec *wire.HijackRecorder
	}
	got := make(chan hijacked, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &wire.HijackRecorder{ResponseWriter: w}
		_, brw, err := rec.Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		got <- hijacked{brw, rec}
	}))
	defer srv.Close()

	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	require.NoError(t, err)
	defer conn.Close()
	// The request and what follows it in one write: the server reads past the request.
	_, err = io.WriteString(conn, "GET / HTTP/1.1\r\nHost: x\r\n\r\nafter the request")
	require.NoError(t, err)
	h := <-got
	defer h.rec.Conn.Close()
	require.NoError(t, h.rec.Conn.SetDeadline(time.Now().Add(10*time.Second)))

	assert.Equal(t, 1<<10, h.brw.Reader.Size())
	assert.Equal(t, 512, h.brw.Writer.Size())
	buf := make([]byte, len("after the request and more"))
	go func() { _, _ = io.WriteString(conn, " and more") }()
	_, err = io.ReadFull(h.brw, buf)
	require.NoError(t, err)
	assert.Equal(t, "after the request and more", string(buf))

	_, err = h.brw.WriteString("reply")
	require.NoError(t, err)
	require.NoError(t, h.brw.Flush())
	reply := make([]byte, 5)
	_, err = io.ReadFull(conn, reply)
	require.NoError(t, err)
	assert.Equal(t, "reply", string(reply))
}
