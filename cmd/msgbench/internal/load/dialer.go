package load

import (
	"context"
	"net"
	"net/http"
	"sync/atomic"
	"time"
)

// dialer makes TCP connections from the configured source addresses in turn.
type dialer struct {
	sources []net.IP
	next    atomic.Uint64
}

func (d *dialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	nd := net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	if len(d.sources) > 0 {
		ip := d.sources[d.next.Add(1)%uint64(len(d.sources))]
		nd.LocalAddr = &net.TCPAddr{IP: ip}
	}
	return nd.DialContext(ctx, network, addr)
}

// transport is an HTTP/1.1 transport holding up to conns connections per
// server, dialing through d.
func transport(d *dialer, conns int) *http.Transport {
	return &http.Transport{
		DialContext:         d.DialContext,
		MaxConnsPerHost:     conns,
		MaxIdleConnsPerHost: conns,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		TLSHandshakeTimeout: 10 * time.Second,
	}
}
