package socketio

import (
	"bytes"
	"encoding/json"
	"strconv"
	"unicode/utf8"

	"github.com/messenger-go/messenger/domain"
)

// Engine.IO packet types (the first byte of a text packet).
const (
	engineOpen    = '0'
	engineClose   = '1'
	enginePing    = '2'
	enginePong    = '3'
	engineMessage = '4'
	engineUpgrade = '5'
	engineNoop    = '6'
)

// Socket.IO packet types (the first byte of an Engine.IO message's data).
const (
	ioConnect      = '0'
	ioDisconnect   = '1'
	ioEvent        = '2'
	ioAck          = '3'
	ioConnectError = '4'
	ioBinaryEvent  = '5'
	ioBinaryAck    = '6'
)

// separator joins the packets of an HTTP long-polling payload.
const separator = '\x1e'

// Packets the server sends as they are.
var (
	packetPing       = []byte{enginePing}
	packetNoop       = []byte{engineNoop}
	packetClose      = []byte{engineClose}
	packetProbe      = []byte("3probe")
	packetDisconnect = []byte{engineMessage, ioDisconnect}
)

// ioPacket is a decoded Socket.IO packet of the default namespace.
type ioPacket struct {
	kind byte
	// namespace is the packet's namespace when it is not the default one,
	// which the server does not serve.
	namespace string
	ack       int // the acknowledgement id the client asks for; -1: none
	data      []byte
}

// maxAckDigits bounds an acknowledgement id, so that it fits an int.
const maxAckDigits = 9

// parseIOPacket decodes the data of an Engine.IO message:
// <type>[/<namespace>,][<ack id>][<JSON>]. Errors: KindInvalid.
func parseIOPacket(b []byte) (ioPacket, error) {
	if len(b) == 0 {
		return ioPacket{}, domain.Errorf(domain.KindInvalid, "empty Socket.IO packet")
	}
	if !utf8.Valid(b) {
		return ioPacket{}, domain.Errorf(domain.KindInvalid, "packet is not valid UTF-8")
	}
	p := ioPacket{kind: b[0], ack: -1}
	rest := b[1:]
	if len(rest) > 0 && rest[0] == '/' {
		ns, after, ok := bytes.Cut(rest, []byte{','})
		if !ok {
			ns, after = rest, nil
		}
		if string(ns) != "/" {
			p.namespace = string(ns)
		}
		rest = after
	}
	digits := 0
	for digits < len(rest) && rest[digits] >= '0' && rest[digits] <= '9' {
		digits++
	}
	if digits > 0 {
		if digits > maxAckDigits {
			return ioPacket{}, domain.Errorf(domain.KindInvalid, "acknowledgement id too long")
		}
		p.ack, _ = strconv.Atoi(string(rest[:digits]))
		rest = rest[digits:]
	}
	p.data = rest
	return p, nil
}

// parseEvent splits an event's data, ["name", data, ...], into its name and
// its first argument (nil when it has none). Further arguments are ignored.
// Errors: KindInvalid.
func parseEvent(data []byte) (string, []byte, error) {
	var args []json.RawMessage
	if err := json.Unmarshal(data, &args); err != nil || len(args) == 0 {
		return "", nil, domain.Errorf(domain.KindInvalid, `malformed event: want ["name", data]`)
	}
	var name string
	if err := json.Unmarshal(args[0], &name); err != nil || name == "" {
		return "", nil, domain.Errorf(domain.KindInvalid, `malformed event: want ["name", data]`)
	}
	if len(args) == 1 {
		return name, nil, nil
	}
	return name, args[1], nil
}

// appendAck appends the Engine.IO message that acknowledges id with args,
// each JSON: 43<id>[args...].
func appendAck(b []byte, id int, args ...[]byte) []byte {
	b = append(b, engineMessage, ioAck)
	b = strconv.AppendInt(b, int64(id), 10)
	b = append(b, '[')
	for i, a := range args {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, a...)
	}
	return append(b, ']')
}

// connectError is the Engine.IO message of a refused namespace connect:
// 44{"message", "data": {code, message}}, which socket.io-client hands to
// connect_error as err.message and err.data.
func connectError(namespace string, payload domain.ErrorPayload) []byte {
	body, _ := json.Marshal(struct {
		Message string              `json:"message"`
		Data    domain.ErrorPayload `json:"data"`
	}{payload.Message, payload}) // strings only: never fails
	b := []byte{engineMessage, ioConnectError}
	if namespace != "" {
		b = append(append(b, namespace...), ',')
	}
	return append(b, body...)
}

// splitPayload splits an HTTP long-polling payload into its packets.
func splitPayload(b []byte) [][]byte {
	return bytes.Split(b, []byte{separator})
}
