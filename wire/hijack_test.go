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
	tests := []struct {
		name       string
		early      string // sent with the request, before the server hijacks
		readBuffer int
	}{
		{"nothing read past the request", "", 1 << 10},
		{"bytes read past the request are kept", "early ", 4 << 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
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
			_, err = io.WriteString(conn, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"+tt.early)
			require.NoError(t, err)
			h := <-got
			defer h.rec.Conn.Close()
			require.NoError(t, h.rec.Conn.SetDeadline(time.Now().Add(10*time.Second)))

			assert.Equal(t, tt.readBuffer, h.brw.Reader.Size())
			assert.Equal(t, 512, h.brw.Writer.Size())
			want := tt.early + "and later"
			_, err = io.WriteString(conn, "and later")
			require.NoError(t, err)
			buf := make([]byte, len(want))
			_, err = io.ReadFull(h.brw, buf)
			require.NoError(t, err)
			assert.Equal(t, want, string(buf))

			_, err = h.brw.WriteString("reply")
			require.NoError(t, err)
			require.NoError(t, h.brw.Flush())
			reply := make([]byte, 5)
			_, err = io.ReadFull(conn, reply)
			require.NoError(t, err)
			assert.Equal(t, "reply", string(reply))
		})
	}
}
