package socketio

import (
	"bytes"
	"context"
	"encoding/json"
	"strconv"

	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/realtime"
	"github.com/messenger-go/messenger/wire"
)

// handlePacket handles one Engine.IO packet from the client. An error is a
// protocol violation that ends the session; bad Socket.IO input is answered
// on the socket instead.
func (s *session) handlePacket(pkt []byte) error {
	if len(pkt) == 0 {
		return domain.Errorf(domain.KindInvalid, "empty Engine.IO packet")
	}
	switch pkt[0] {
	case engineMessage:
		// A connected socket's packets count toward its frame limit
		// (realtime.Socket.Receive), as /ws frames do.
		if s.isConnected() {
			if serve, _ := s.Receive(); !serve {
				return nil
			}
		}
		s.handleIO(pkt[1:])
	case enginePong:
		select {
		case s.pong <- struct{}{}:
		default: // one answer is enough
		}
	case engineClose:
		s.end()
	case enginePing, engineNoop, engineUpgrade:
		// A protocol 3 client's ping, and packets that only matter during
		// an upgrade's probe.
	default:
		return domain.Errorf(domain.KindInvalid, "unknown Engine.IO packet %q", pkt[:1])
	}
	return nil
}

// handleIO handles one Socket.IO packet.
func (s *session) handleIO(data []byte) {
	p, err := parseIOPacket(data)
	connected := s.isConnected()
	switch {
	case err != nil:
		if connected {
			s.Refuse(wire.Inbound{}, err, nil)
		}
	case p.namespace != "":
		if p.kind == ioConnect {
			s.sendRefusal(connectError(p.namespace, domain.ErrorPayload{Code: domain.KindNotFound.String(), Message: "Invalid namespace"}))
		}
	case p.kind == ioConnect:
		if !connected {
			s.connect(p.data)
		}
	case !connected:
		// Packets of a socket that is not connected are dropped, as
		// Socket.IO servers do.
	case p.kind == ioDisconnect:
		s.Close(realtime.CloseNow) // the client leaves
	case p.kind == ioEvent:
		s.event(p)
	case p.kind == ioAck:
		// The server asks for no acknowledgements.
	case p.kind == ioBinaryEvent || p.kind == ioBinaryAck:
		// Their count of attachments reads as an acknowledgement id: none
		// is answered.
		s.Refuse(wire.Inbound{}, domain.Errorf(domain.KindInvalid, "binary packets are not supported"), nil)
	default:
		s.Refuse(wire.Inbound{}, domain.Errorf(domain.KindInvalid, "unknown Socket.IO packet %q", []byte{p.kind}), nil)
	}
}

// event decodes an event and dispatches it, with the acknowledgement the
// client asked for.
func (s *session) event(p ioPacket) {
	ack := s.acker(p.ack)
	name, data, err := parseEvent(p.data)
	if err != nil {
		s.Refuse(wire.Inbound{}, err, ack)
		return
	}
	in, err := wire.DecodePayload(name, data)
	if err != nil {
		s.Refuse(in, err, ack)
		return
	}
	s.Dispatch(in, ack)
}

// acker returns the realtime.Ack that answers acknowledgement id with the
// data of the event that answered (chatRegistered's, sendResult's, error's),
// or with no argument for an event served without an answer; nil when the
// client asked for none.
func (s *session) acker(id int) realtime.Ack {
	if id < 0 {
		return nil
	}
	return func(answer *domain.Event) {
		if answer == nil {
			s.Enqueue(realtime.OwnFrame(appendAck(nil, id)))
			return
		}
		f, err := realtime.NewFrame(*answer)
		if err != nil {
			return // Reply logged it
		}
		s.Enqueue(realtime.OwnFrame(appendAck(nil, id, f.Data())))
	}
}

// auth is the handshake's auth object of a Socket.IO connect.
type auth struct {
	Token  *string `json:"token"`
	Resume *bool   `json:"resume"`
}

// connect authenticates a Socket.IO connect and starts the socket: 40 with
// the socket's id, then registered. A refusal is 44 with the error's code
// and message, and the session stays open for another try.
func (s *session) connect(data []byte) {
	var a auth
	if len(bytes.TrimSpace(data)) > 0 {
		if err := json.Unmarshal(data, &a); err != nil {
			s.refuse(domain.Errorf(domain.KindInvalid, "the connect's auth must be an object {token, resume}"))
			return
		}
	}
	s.mu.Lock()
	token, tokenErr, hold := s.token, s.tokenErr, s.resume
	s.mu.Unlock()
	if a.Token != nil {
		token, tokenErr = *a.Token, nil
		if token == "" {
			tokenErr = domain.Errorf(domain.KindUnauthenticated, "missing bearer token")
		}
	}
	if a.Resume != nil {
		hold = *a.Resume
	}
	if tokenErr != nil {
		s.refuse(tokenErr)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.h.ep.Config().RequestTimeout)
	user, expires, err := s.h.ep.Authenticate(ctx, token)
	cancel()
	if err != nil {
		s.refuse(err)
		return
	}
	if s.h.cfg.Hub.Closed() {
		s.refuse(domain.Errorf(domain.KindUnavailable, "server shutting down"))
		return
	}
	if err := s.Init(s.h.ep, s, user, expires, hold); err != nil {
		s.h.log.Error("socketio: new socket", "err", err)
		s.refuse(domain.Errorf(domain.KindInternal, "new socket"))
		return
	}
	// The Socket.IO connect's answer and registered go first in an empty
	// queue; it is never full here.
	s.Enqueue(realtime.OwnFrame(append([]byte{engineMessage, ioConnect}, `{"sid":`+strconv.Quote(newID())+`}`...)))
	s.Reply(domain.Event{Name: domain.EventRegistered, Data: domain.RegisteredPayload{UserID: user}})
	s.mu.Lock()
	s.connected = true
	s.token, s.tokenErr = "", nil
	if s.timer != nil {
		s.timer.Stop()
		s.timer = nil // not kept for the socket's life
	}
	s.mu.Unlock()
	if !s.Start() {
		s.Close(realtime.CloseNow)
		s.mu.Lock()
		s.connected = false
		s.mu.Unlock()
		s.refuse(domain.Errorf(domain.KindUnavailable, "server shutting down"))
		return
	}
	s.mu.Lock()
	s.serve = true
	s.mu.Unlock()
}

// refuse answers a connect with 44.
func (s *session) refuse(err error) {
	if domain.KindOf(err) == domain.KindInternal {
		s.h.log.Error("socketio: connect", "err", err)
	}
	s.sendRefusal(connectError("", wire.Describe(err)))
}

// sendRefusal sends a connect error, within WriteTimeout: a long-polling
// client that asks again and again without polling does not hold its POST.
func (s *session) sendRefusal(pkt []byte) {
	ctx, cancel := context.WithTimeout(context.Background(), s.h.ep.Config().WriteTimeout)
	defer cancel()
	_ = s.sendPacket(ctx, pkt)
}
