package domain

import (
	"crypto/rand"
	"crypto/sha1"
	"encoding/hex"
)

// UserID identifies a user. It is a canonical (lower-case, hyphenated) UUID string.
// The zero value is not a valid id.
type UserID string

// MessageID identifies a message. It is a canonical UUID string.
type MessageID string

// ParseUserID checks that s is a UUID and returns it in canonical form.
func ParseUserID(s string) (UserID, error) {
	u, ok := canonicalUUID(s)
	if !ok {
		return "", Errorf(KindInvalid, "invalid user id %q", clip(s))
	}
	return UserID(u), nil
}

// ParseMessageID checks that s is a UUID and returns it in canonical form.
func ParseMessageID(s string) (MessageID, error) {
	u, ok := canonicalUUID(s)
	if !ok {
		return "", Errorf(KindInvalid, "invalid message id %q", clip(s))
	}
	return MessageID(u), nil
}

// NewUserID returns a random (version 4) user id.
func NewUserID() UserID { return UserID(NewUUID()) }

func (id UserID) String() string    { return string(id) }
func (id MessageID) String() string { return string(id) }

// NewUUID returns a random version 4 UUID in canonical form.
func NewUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return formatUUID(b)
}

// messageNamespace is the UUID namespace of message ids derived from a sender and
// a client message id (RFC 9562 name-based, version 5).
var messageNamespace = [16]byte{0x6d, 0x65, 0x73, 0x73, 0x65, 0x6e, 0x67, 0x65, 0x72, 0x2d, 0x6d, 0x73, 0x67, 0x2d, 0x69, 0x64}

// DeriveMessageID returns the message id of the message that sender sent with
// clientMessageID. It is deterministic, so a retried send yields the same id.
func DeriveMessageID(sender UserID, clientMessageID string) MessageID {
	h := sha1.New()
	h.Write(messageNamespace[:])
	h.Write([]byte(sender))
	h.Write([]byte{0})
	h.Write([]byte(clientMessageID))
	var b [16]byte
	copy(b[:], h.Sum(nil))
	b[6] = b[6]&0x0f | 0x50
	b[8] = b[8]&0x3f | 0x80
	return MessageID(formatUUID(b))
}

func formatUUID(b [16]byte) string {
	var buf [36]byte
	hex.Encode(buf[0:8], b[0:4])
	buf[8] = '-'
	hex.Encode(buf[9:13], b[4:6])
	buf[13] = '-'
	hex.Encode(buf[14:18], b[6:8])
	buf[18] = '-'
	hex.Encode(buf[19:23], b[8:10])
	buf[23] = '-'
	hex.Encode(buf[24:], b[10:])
	return string(buf[:])
}

// canonicalUUID accepts the hyphenated 36-character form in any case and
// returns it lower-cased.
func canonicalUUID(s string) (string, bool) {
	if len(s) != 36 {
		return "", false
	}
	var buf [36]byte
	for i := 0; i < 36; i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return "", false
			}
		default:
			switch {
			case '0' <= c && c <= '9', 'a' <= c && c <= 'f':
			case 'A' <= c && c <= 'F':
				c += 'a' - 'A'
			default:
				return "", false
			}
		}
		buf[i] = c
	}
	return string(buf[:]), true
}

// clip shortens untrusted input before it is echoed in an error message.
func clip(s string) string {
	const max = 64
	if len(s) > max {
		return s[:max] + "..."
	}
	return s
}
