package domain

import (
	"strings"
	"time"
	"unicode/utf8"
)

// DeviceID identifies a registered push device. It is a canonical UUID string.
type DeviceID string

func (id DeviceID) String() string { return string(id) }

// ParseDeviceID checks that s is a UUID and returns it in canonical form.
func ParseDeviceID(s string) (DeviceID, error) {
	u, ok := canonicalUUID(s)
	if !ok {
		return "", Errorf(KindInvalid, "invalid device id %q", clip(s))
	}
	return DeviceID(u), nil
}

// Platform is the push service that reaches a device.
type Platform string

// The platforms a device may register with.
const (
	PlatformWebhook Platform = "webhook" // the deployment's signed webhook, which routes by token
	PlatformFCM     Platform = "fcm"     // Firebase Cloud Messaging, token = registration token
	PlatformWebPush Platform = "webpush" // a browser's Web Push subscription (stored; sent by a Pusher the host provides)
)

// Preview is how much of a message a notification may show.
type Preview string

// The previews a device may ask for; PreviewSender is the default.
const (
	PreviewNone   Preview = "none"   // only that messages came, and how many
	PreviewSender Preview = "sender" // the sender's name and the count
	PreviewText   Preview = "text"   // the sender's name, the count and the latest text, clipped
)

// MaxDeviceTokenBytes bounds a push token; FCM's are about 160 bytes and a
// Web Push subscription's JSON under a kilobyte.
const MaxDeviceTokenBytes = 4096

// MaxPreviewTextRunes bounds the text a PreviewText notification carries.
const MaxPreviewTextRunes = 100

// Device is a registered push target of a user.
type Device struct {
	ID        DeviceID  `json:"deviceId"`
	User      UserID    `json:"userId"`
	Platform  Platform  `json:"platform"`
	Token     string    `json:"-"`
	Preview   Preview   `json:"preview"`
	CreatedAt time.Time `json:"createdAt"`
}

// DeviceRegistration is what a user sends to register a device.
type DeviceRegistration struct {
	Platform Platform
	Token    string
	Preview  Preview // empty: PreviewSender
}

// NewDevice validates r and returns the device of user it registers, with a
// fresh id.
func NewDevice(user UserID, r DeviceRegistration, now time.Time) (Device, error) {
	switch r.Platform {
	case PlatformWebhook, PlatformFCM, PlatformWebPush:
	case "":
		return Device{}, Errorf(KindInvalid, "platform is required")
	default:
		return Device{}, Errorf(KindInvalid, "platform must be webhook, fcm or webpush")
	}
	switch {
	case strings.TrimSpace(r.Token) == "":
		return Device{}, Errorf(KindInvalid, "token is required")
	case len(r.Token) > MaxDeviceTokenBytes:
		return Device{}, Errorf(KindTooLarge, "token exceeds %d bytes", MaxDeviceTokenBytes)
	case !utf8.ValidString(r.Token) || strings.ContainsRune(r.Token, 0):
		return Device{}, Errorf(KindInvalid, "token must be UTF-8 text without NUL")
	}
	switch r.Preview {
	case "":
		r.Preview = PreviewSender
	case PreviewNone, PreviewSender, PreviewText:
	default:
		return Device{}, Errorf(KindInvalid, "preview must be none, sender or text")
	}
	return Device{ID: DeviceID(NewUUID()), User: user, Platform: r.Platform, Token: r.Token,
		Preview: r.Preview, CreatedAt: now.UTC()}, nil
}

// PushNotification tells an offline user that messages came in a
// conversation. What it shows follows the device's Preview: SenderName is
// empty under PreviewNone, Text is empty unless PreviewText.
type PushNotification struct {
	ConversationID ConversationID `json:"conversationId"`
	SenderID       UserID         `json:"senderId,omitempty"`
	SenderName     string         `json:"senderName,omitempty"`
	Text           string         `json:"text,omitempty"`
	// Count is how many messages this notification stands for.
	Count int `json:"count"`
	// LastSequence is the sequence of the latest of them.
	LastSequence Sequence  `json:"lastSequenceId"`
	At           time.Time `json:"at"`
}

// For returns n as device d may show it.
func (n PushNotification) For(d Device) PushNotification {
	switch d.Preview {
	case PreviewText:
		if utf8.RuneCountInString(n.Text) > MaxPreviewTextRunes {
			n.Text = string([]rune(n.Text)[:MaxPreviewTextRunes-1]) + "…"
		}
	case PreviewNone:
		n.SenderID, n.SenderName, n.Text = "", "", ""
	default:
		n.Text = ""
	}
	return n
}
