package socketio

import (
	"bytes"
	"testing"
	"unicode/utf8"

	"github.com/messenger-go/messenger/domain"
)

// FuzzParsePacket feeds client bytes through the decoders a long-polling POST
// or a WebSocket message goes through: the payload split, the Socket.IO
// packet and an event's name and argument. A refusal is KindInvalid with a
// message, never a panic; what is accepted keeps what the parser promises.
func FuzzParsePacket(f *testing.F) {
	for _, seed := range []string{
		`42["send",{"receiverId":"x","message":"hi"}]`,
		`421["send",{}]`,
		`0{"token":"t"}`,
		`0/,{"token":"t"}`,
		`2/admin,["typing"]`,
		"42[\"typing\"]\x1e42[\"ack\",{}]",
		`4212345678901["x"]`,
		`42["",1]`,
		"42[\"a\xff\"]",
		``,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		for _, b := range splitPayload(payload) {
			p, err := parseIOPacket(b)
			if err != nil {
				if domain.KindOf(err) != domain.KindInvalid || domain.MessageOf(err) == "" {
					t.Fatalf("parseIOPacket(%q): %v is not an invalid-input error with a message", b, err)
				}
				continue
			}
			if !utf8.Valid(b) || p.kind != b[0] || p.ack < -1 || !bytes.HasSuffix(b, p.data) {
				t.Fatalf("parseIOPacket(%q) = %+v", b, p)
			}
			name, arg, err := parseEvent(p.data)
			if err != nil {
				if domain.KindOf(err) != domain.KindInvalid {
					t.Fatalf("parseEvent(%q): %v is not an invalid-input error", p.data, err)
				}
				continue
			}
			if name == "" || (arg != nil && len(arg) == 0) {
				t.Fatalf("parseEvent(%q) = %q, %q", p.data, name, arg)
			}
		}
	})
}
