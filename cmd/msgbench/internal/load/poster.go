package load

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// poster sends the hot path's POSTs over HTTP/1.1 keep-alive connections of
// its own: the calling goroutine writes the request and reads the answer
// (parsed by net/http's ReadResponse). net/http's Transport hands every
// request to two goroutines of the connection and back, which made the
// generator cost about as much CPU per message as the server's handler; the
// generator shares the machine with the system it measures.
type poster struct {
	dial  func(ctx context.Context, network, addr string) (net.Conn, error)
	hosts []string // host:port of each target

	mu   sync.Mutex
	idle [][]*pconn // by target
}

type pconn struct {
	c  net.Conn
	br *bufio.Reader
	bw *bufio.Writer
}

// newPoster returns a poster for the targets' base URLs (http://host:port).
func newPoster(targets []string, dial func(ctx context.Context, network, addr string) (net.Conn, error)) (*poster, error) {
	p := &poster{dial: dial, idle: make([][]*pconn, len(targets))}
	for _, t := range targets {
		u, err := url.Parse(t)
		if err != nil || u.Scheme != "http" || u.Host == "" {
			return nil, fmt.Errorf("target %q: want http://host:port", t)
		}
		host := u.Host
		if u.Port() == "" {
			host = net.JoinHostPort(u.Hostname(), "80")
		}
		p.hosts = append(p.hosts, host)
	}
	return p, nil
}

// post sends body to path on target (an index of the targets) with the given
// Authorization header, and returns the status and up to 64 KiB of the
// answer. ctx's deadline bounds the whole exchange.
func (p *poster) post(ctx context.Context, target int, path, auth string, body []byte) (int, []byte, error) {
	host := p.hosts[target]
	pc, reused, err := p.get(ctx, target)
	if err != nil {
		return 0, nil, err
	}
	status, answer, keep, err := pc.roundTrip(ctx, host, path, auth, body)
	if err != nil && reused && status == 0 && ctx.Err() == nil && closedUnderUs(err) {
		// The server closed an idle connection before it read the request:
		// send it once more on a new one (as net/http does). Had the server
		// taken it after all, the clientMessageId makes the repeat a no-op.
		_ = pc.c.Close()
		if pc, err = p.fresh(ctx, host); err != nil {
			return 0, nil, err
		}
		status, answer, keep, err = pc.roundTrip(ctx, host, path, auth, body)
	}
	if err != nil || !keep {
		_ = pc.c.Close()
		return status, answer, err
	}
	p.mu.Lock()
	p.idle[target] = append(p.idle[target], pc)
	p.mu.Unlock()
	return status, answer, nil
}

// get takes an idle connection to target or dials one.
func (p *poster) get(ctx context.Context, target int) (*pconn, bool, error) {
	p.mu.Lock()
	if list := p.idle[target]; len(list) > 0 {
		pc := list[len(list)-1]
		list[len(list)-1] = nil
		p.idle[target] = list[:len(list)-1]
		p.mu.Unlock()
		return pc, true, nil
	}
	p.mu.Unlock()
	pc, err := p.fresh(ctx, p.hosts[target])
	return pc, false, err
}

func (p *poster) fresh(ctx context.Context, host string) (*pconn, error) {
	c, err := p.dial(ctx, "tcp", host)
	if err != nil {
		return nil, err
	}
	return &pconn{c: c, br: bufio.NewReaderSize(c, 4096), bw: bufio.NewWriterSize(c, 1024)}, nil
}

// closeIdle closes every idle connection.
func (p *poster) closeIdle() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, list := range p.idle {
		for _, pc := range list {
			_ = pc.c.Close()
		}
		p.idle[i] = nil
	}
}

// roundTrip writes one request and reads its answer. keep tells whether the
// connection may carry another request.
func (pc *pconn) roundTrip(ctx context.Context, host, path, auth string, body []byte) (status int, answer []byte, keep bool, err error) {
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(DefaultSendTimeout)
	}
	if err := pc.c.SetDeadline(deadline); err != nil {
		return 0, nil, false, err
	}
	w := pc.bw
	_, _ = w.WriteString("POST ")
	_, _ = w.WriteString(path)
	_, _ = w.WriteString(" HTTP/1.1\r\nHost: ")
	_, _ = w.WriteString(host)
	_, _ = w.WriteString("\r\nAuthorization: ")
	_, _ = w.WriteString(auth)
	_, _ = w.WriteString("\r\nContent-Type: application/json\r\nContent-Length: ")
	_, _ = w.WriteString(strconv.Itoa(len(body)))
	_, _ = w.WriteString("\r\n\r\n")
	_, _ = w.Write(body)
	if err := w.Flush(); err != nil {
		return 0, nil, false, err
	}
	resp, err := http.ReadResponse(pc.br, nil)
	if err != nil {
		return 0, nil, false, err
	}
	answer, err = io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err == nil && answer == nil {
		answer = []byte{}
	}
	// The rest of an oversized answer would be read as the next response.
	rest, _ := io.Copy(io.Discard, io.LimitReader(resp.Body, 1))
	_ = resp.Body.Close()
	if err != nil {
		return resp.StatusCode, nil, false, fmt.Errorf("reading answer: %w", err)
	}
	return resp.StatusCode, answer, !resp.Close && rest == 0, nil
}

// closedUnderUs reports whether err is a kept-alive connection found closed
// by the server.
func closedUnderUs(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}
