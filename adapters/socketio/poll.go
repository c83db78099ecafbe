package socketio

import (
	"context"
	"errors"
	"io"
	"net/http"
	"sync"

	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/wire"
)

// Errors of a poller.
var (
	errPollClosed  = errors.New("socketio: long-polling session closed")
	errPollOverlap = domain.Errorf(domain.KindInvalid, "a long-polling GET is already waiting for this session")
	errUpgraded    = errors.New("socketio: session upgraded to a WebSocket")
)

// poller is the server's side of HTTP long-polling: the packets waiting for
// the client's next GET. Writers wait while more than limit bytes wait; at
// most one GET waits for packets at a time.
type poller struct {
	limit int

	mu       sync.Mutex
	out      []byte        // packets joined by the separator
	changed  chan struct{} // closed, and replaced, whenever out or the state below changes
	getting  bool          // a GET is waiting
	noop     bool          // an upgrade is being probed: the waiting or next GET gets a noop
	upgraded bool          // the session moved to a WebSocket: no more GETs, writers go there
	closed   bool          // the session ended: the GET takes what is left, then no more
}

func newPoller(limit int) *poller {
	return &poller{limit: limit, changed: make(chan struct{})}
}

// signal wakes everyone waiting. Callers hold mu.
func (p *poller) signal() {
	close(p.changed)
	p.changed = make(chan struct{})
}

// push appends the packet made of parts for the next GET, waiting while the
// buffer is over its limit, until ctx ends. Errors: errPollClosed,
// errUpgraded (write to the WebSocket instead), ctx's.
func (p *poller) push(ctx context.Context, parts ...[]byte) error {
	p.mu.Lock()
	for {
		switch {
		case p.upgraded:
			p.mu.Unlock()
			return errUpgraded
		case p.closed:
			p.mu.Unlock()
			return errPollClosed
		case len(p.out) < p.limit:
			p.append(parts...)
			p.signal()
			p.mu.Unlock()
			return nil
		}
		wait := p.changed
		p.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			return ctx.Err()
		}
		p.mu.Lock()
	}
}

// append adds one packet. Callers hold mu.
func (p *poller) append(parts ...[]byte) {
	if len(p.out) > 0 {
		p.out = append(p.out, separator)
	}
	for _, b := range parts {
		p.out = append(p.out, b...)
	}
}

// finish queues the last packets, beyond the limit, and closes the poller:
// the next GET takes them, and there is none after.
func (p *poller) finish(packets ...[]byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || p.upgraded {
		return
	}
	for _, b := range packets {
		p.append(b)
	}
	p.closed = true
	p.signal()
}

// probe makes the waiting GET, or the next one, answer a noop, so that the
// client pauses polling and completes an upgrade.
func (p *poller) probe() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.noop = true
	p.signal()
}

// unprobe ends a probe that failed: GETs wait for packets again.
func (p *poller) unprobe() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.noop = false
}

// upgrade ends polling for a WebSocket and returns the packets that were
// waiting for a GET, which go to the WebSocket first. Writers waiting or
// coming later get errUpgraded.
func (p *poller) upgrade() []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := p.out
	p.out = nil
	p.upgraded = true
	p.signal()
	return out
}

// get waits until packets wait, or the poller is probed or closed, and
// returns the payload for a GET; last reports that the session ended with
// it. Errors: errPollOverlap for a second GET while one waits, errUpgraded,
// errPollClosed after the last payload was taken, ctx's.
func (p *poller) get(ctx context.Context) (payload []byte, last bool, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.getting {
		return nil, false, errPollOverlap
	}
	p.getting = true
	defer func() { p.getting = false }()
	for {
		switch {
		case p.upgraded:
			return packetNoop, false, nil
		case len(p.out) > 0:
			payload, p.out = p.out, nil
			p.signal() // room for the writers
			return payload, p.closed, nil
		case p.closed:
			return nil, true, errPollClosed
		case p.noop:
			return packetNoop, false, nil
		}
		wait := p.changed
		p.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
		}
		p.mu.Lock()
		if ctx.Err() != nil {
			return nil, false, ctx.Err()
		}
	}
}

// pollGet answers a long-polling GET with the packets waiting for it.
func (h *Handler) pollGet(w http.ResponseWriter, r *http.Request, sid string) {
	s := h.lookup(w, sid)
	if s == nil {
		return
	}
	p := s.poller()
	if p == nil {
		wire.WriteHTTPError(w, domain.Errorf(domain.KindInvalid, "the session is not long-polling"))
		return
	}
	payload, last, err := p.get(r.Context())
	if last {
		s.forgetLater(0)
	}
	switch {
	case errors.Is(err, errPollOverlap):
		// Two GETs at once: the client is confused; the session ends.
		wire.WriteHTTPError(w, err)
		s.end()
	case err != nil:
		wire.WriteHTTPError(w, domain.Errorf(domain.KindInvalid, "unknown session id"))
	default:
		writePayload(w, payload)
	}
}

// pollPost reads a long-polling POST's packets and handles them in order.
func (h *Handler) pollPost(w http.ResponseWriter, r *http.Request, sid string) {
	s := h.lookup(w, sid)
	if s == nil {
		return
	}
	if s.poller() == nil {
		wire.WriteHTTPError(w, domain.Errorf(domain.KindInvalid, "the session is not long-polling"))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.cfg.ReadLimit))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		wire.WriteHTTPError(w, domain.Errorf(domain.KindTooLarge, "payload over maxPayload"))
		s.end()
		return
	case err != nil:
		return // the client went away
	}
	// One POST at a time, so that packets are handled in the order sent.
	s.readMu.Lock()
	defer s.readMu.Unlock()
	for _, pkt := range splitPayload(body) {
		if err := s.handlePacket(pkt); err != nil {
			wire.WriteHTTPError(w, err)
			s.end()
			return
		}
	}
	if s.takeServe() {
		go s.Serve(s)
	}
	w.Header().Set("Content-Type", "text/html")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte("ok"))
}
