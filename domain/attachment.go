package domain

import (
	"encoding/json"
	"mime"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// AttachmentID names an uploaded file (a UUID).
type AttachmentID string

func (id AttachmentID) String() string { return string(id) }

// ParseAttachmentID checks that s is a UUID and returns it in canonical form.
func ParseAttachmentID(s string) (AttachmentID, error) {
	u, ok := canonicalUUID(s)
	if !ok {
		return "", Errorf(KindNotFound, "no such attachment")
	}
	return AttachmentID(u), nil
}

// Limits of attachments.
const (
	// DefaultMaxAttachmentBytes is the default largest declared size.
	DefaultMaxAttachmentBytes = 25 << 20
	// MaxFileNameBytes bounds an attachment's file name.
	MaxFileNameBytes = 255
)

// DefaultAttachmentTypes are the content types accepted by default: common
// images, PDF and office documents.
var DefaultAttachmentTypes = []string{
	"image/jpeg", "image/png", "image/gif", "image/webp", "image/heic",
	"application/pdf", "text/plain", "text/csv", "application/rtf",
	"application/msword", "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
	"application/vnd.ms-excel", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
	"application/vnd.ms-powerpoint", "application/vnd.openxmlformats-officedocument.presentationml.presentation",
	"application/vnd.oasis.opendocument.text", "application/vnd.oasis.opendocument.spreadsheet",
	"application/vnd.oasis.opendocument.presentation",
}

// scriptable are the types a browser would run script from when served from
// the download origin; no policy may accept them.
var scriptable = []string{
	"text/html", "application/xhtml+xml", "image/svg+xml", "text/xml", "application/xml",
	"text/javascript", "application/javascript", "application/ecmascript", "text/ecmascript",
}

// inlineTypes are the images shown inline in a conversation; any other type
// is downloaded as a file (Content-Disposition: attachment).
var inlineTypes = []string{"image/jpeg", "image/png", "image/gif", "image/webp"}

// AttachmentPolicy is what uploads may declare.
type AttachmentPolicy struct {
	maxBytes int64
	types    []string
}

// NewAttachmentPolicy checks the limits: maxBytes > 0 (zero means
// DefaultMaxAttachmentBytes), types lower-case media types without
// parameters (none means DefaultAttachmentTypes), none of them a type a
// browser runs script from (HTML, SVG, XML, JavaScript).
func NewAttachmentPolicy(maxBytes int64, types []string) (AttachmentPolicy, error) {
	if maxBytes == 0 {
		maxBytes = DefaultMaxAttachmentBytes
	}
	if maxBytes < 0 {
		return AttachmentPolicy{}, Errorf(KindInvalid, "the attachment size limit must be positive")
	}
	if len(types) == 0 {
		types = DefaultAttachmentTypes
	}
	p := AttachmentPolicy{maxBytes: maxBytes}
	for _, t := range types {
		mt, err := mediaType(t)
		if err != nil {
			return AttachmentPolicy{}, err
		}
		if slices.Contains(scriptable, mt) {
			return AttachmentPolicy{}, Errorf(KindInvalid, "attachment type %s would run script in a browser", mt)
		}
		p.types = append(p.types, mt)
	}
	return p, nil
}

// MaxBytes is the largest size an upload may declare.
func (p AttachmentPolicy) MaxBytes() int64 { return p.maxBytes }

// Types are the accepted content types.
func (p AttachmentPolicy) Types() []string { return slices.Clone(p.types) }

// mediaType returns the lower-case media type of a Content-Type value,
// without parameters.
func mediaType(s string) (string, error) {
	mt, _, err := mime.ParseMediaType(s)
	if err != nil || !strings.Contains(mt, "/") {
		return "", Errorf(KindInvalid, "invalid content type %q", clip(s))
	}
	return mt, nil
}

// AttachmentRequest is an upload as the client declares it.
type AttachmentRequest struct {
	FileName    string `json:"fileName"`
	ContentType string `json:"contentType"`
	Size        int64  `json:"size"`
}

// Attachment is a file a user uploads to send in a message. It is pending
// from its creation until a message carries it, and may be used by one
// message only. A pending attachment no message took expires at ExpiresAt.
type Attachment struct {
	ID          AttachmentID
	Owner       UserID
	FileName    string
	ContentType string // a media type the policy accepts, without parameters
	Size        int64  // declared; the upload must have exactly this size
	CreatedAt   time.Time
	// ExpiresAt is when a pending attachment is removed; zero once sent.
	// An attachment whose message was deleted expires at once.
	ExpiresAt time.Time
	// MessageID and ConversationID are those of the message that carries
	// it; empty while pending.
	MessageID      MessageID
	ConversationID ConversationID
}

// NewAttachment checks r against p and returns the pending attachment of
// owner, which expires ttl after now unless a message takes it.
// Errors: KindInvalid (file name, type not accepted), KindTooLarge.
func NewAttachment(p AttachmentPolicy, owner UserID, r AttachmentRequest, now time.Time, ttl time.Duration) (Attachment, error) {
	name, err := cleanFileName(r.FileName)
	if err != nil {
		return Attachment{}, err
	}
	mt, err := mediaType(r.ContentType)
	if err != nil {
		return Attachment{}, err
	}
	if !slices.Contains(p.types, mt) {
		return Attachment{}, Errorf(KindInvalid, "content type %s is not accepted", mt)
	}
	switch {
	case r.Size <= 0:
		return Attachment{}, Errorf(KindInvalid, "size must be positive")
	case r.Size > p.maxBytes:
		return Attachment{}, Errorf(KindTooLarge, "attachments are limited to %d bytes", p.maxBytes)
	}
	now = now.UTC().Truncate(time.Microsecond)
	return Attachment{
		ID: AttachmentID(NewUUID()), Owner: owner, FileName: name, ContentType: mt, Size: r.Size,
		CreatedAt: now, ExpiresAt: now.Add(ttl),
	}, nil
}

// cleanFileName keeps the last element of a path, without control
// characters; it must be valid UTF-8 of at most MaxFileNameBytes.
func cleanFileName(s string) (string, error) {
	if !utf8.ValidString(s) {
		return "", Errorf(KindInvalid, "fileName is not valid UTF-8")
	}
	if i := strings.LastIndexAny(s, `/\`); i >= 0 {
		s = s[i+1:]
	}
	s = strings.TrimSpace(strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '"' {
			return -1
		}
		return r
	}, s))
	switch {
	case s == "" || s == "." || s == "..":
		return "", Errorf(KindInvalid, "fileName is required")
	case len(s) > MaxFileNameBytes:
		return "", Errorf(KindTooLarge, "fileName exceeds %d bytes", MaxFileNameBytes)
	}
	return s, nil
}

// Sent says whether a message carries a.
func (a Attachment) Sent() bool { return a.MessageID != "" }

// Expired says whether a is gone: pending past its expiry, or released by
// its message's deletion.
func (a Attachment) Expired(now time.Time) bool {
	return !a.Sent() && !now.Before(a.ExpiresAt)
}

// Readable says whether user may download a at now: its uploader, and the
// members of the conversation it was sent in.
func (a Attachment) Readable(user UserID, now time.Time) bool {
	if a.Expired(now) {
		return false
	}
	return a.Owner == user || a.Sent() && a.ConversationID.Has(user)
}

// Inline says whether a is an image a browser may show inline; every other
// type is served as a download.
func (a Attachment) Inline() bool { return slices.Contains(inlineTypes, a.ContentType) }

// CheckUpload compares what the blob store holds with what was declared.
// Errors: KindInvalid.
func (a Attachment) CheckUpload(size int64, contentType string) error {
	if size != a.Size {
		return Errorf(KindInvalid, "the upload has %d bytes, not the %d declared", size, a.Size)
	}
	if mt, err := mediaType(contentType); err != nil || mt != a.ContentType {
		return Errorf(KindInvalid, "the upload is not of the declared type %s", a.ContentType)
	}
	return nil
}

// Attach binds a pending attachment to the message m its owner sends.
// Binding it again to the same message (a retried send) changes nothing.
// Errors: KindNotFound (not m's sender's, or expired), KindConflict (sent
// in another message).
func (a Attachment) Attach(m Message, now time.Time) (Attachment, error) {
	if a.Owner != m.SenderID || a.Expired(now) {
		return Attachment{}, Errorf(KindNotFound, "no such attachment")
	}
	if a.Sent() {
		if a.MessageID == m.ID {
			return a, nil
		}
		return Attachment{}, Errorf(KindConflict, "the attachment was sent in another message")
	}
	a.MessageID, a.ConversationID, a.ExpiresAt = m.ID, m.ConversationID, time.Time{}
	return a, nil
}

// AttachmentOf returns the attachment an image or file message carries in
// metadata.attachmentId. ok is false for other types. Errors: KindInvalid
// (an image or file message without a valid attachmentId).
func AttachmentOf(m Message) (id AttachmentID, ok bool, err error) {
	if m.Type != MessageImage && m.Type != MessageFile {
		return "", false, nil
	}
	var meta struct {
		AttachmentID string `json:"attachmentId"`
	}
	if len(m.Metadata) > 0 {
		if err := json.Unmarshal(m.Metadata, &meta); err != nil {
			return "", false, Errorf(KindInvalid, "metadata.attachmentId must be a string")
		}
	}
	u, valid := canonicalUUID(meta.AttachmentID)
	if !valid {
		return "", false, Errorf(KindInvalid, "a %s message needs metadata.attachmentId", m.Type)
	}
	return AttachmentID(u), true, nil
}

// CheckCarrier checks that a message of m's type may carry a: an image
// message carries an image.
func (a Attachment) CheckCarrier(m Message) error {
	if m.Type == MessageImage && !a.Inline() {
		return Errorf(KindInvalid, "an image message needs an image attachment")
	}
	return nil
}
