package ports

import (
	"context"
	"time"

	"github.com/messenger-go/messenger/domain"
)

// AttachmentStore keeps the records of attachments (the files themselves
// are in a BlobStore). Safe for concurrent use.
type AttachmentStore interface {
	// CreateAttachment stores a new pending attachment. Errors:
	// KindConflict (the id exists), KindUnavailable.
	CreateAttachment(ctx context.Context, a domain.Attachment) error
	// Attachment returns the attachment id, expired or not.
	// Errors: KindNotFound, KindUnavailable.
	Attachment(ctx context.Context, id domain.AttachmentID) (domain.Attachment, error)
	// UpdateAttachment applies fn to the attachment id and stores its
	// result, atomically: no other change to it comes between the read and
	// the write. An error from fn is returned and nothing is stored.
	// Errors: KindNotFound, fn's, KindUnavailable.
	UpdateAttachment(ctx context.Context, id domain.AttachmentID, fn func(domain.Attachment) (domain.Attachment, error)) (domain.Attachment, error)
	// ReleaseAttachments makes the attachments of the message msg, and
	// every attachment of owner when owner is set, expire at at (the
	// message or the account was deleted); they are removed by the next
	// sweep. Returns how many it released. Idempotent. Errors: KindUnavailable.
	ReleaseAttachments(ctx context.Context, msg domain.MessageID, owner domain.UserID, at time.Time) (int, error)
	// ExpiredAttachments returns up to limit attachments expired at now,
	// oldest expiry first. Errors: KindUnavailable.
	ExpiredAttachments(ctx context.Context, now time.Time, limit int) ([]domain.Attachment, error)
	// DeleteAttachment removes the record id. Deleting a missing one
	// succeeds. Errors: KindUnavailable.
	DeleteAttachment(ctx context.Context, id domain.AttachmentID) error
}

// AttachmentUpload is the answer to a declared upload: where and how the
// client sends the file, until ExpiresAt.
type AttachmentUpload struct {
	AttachmentID  domain.AttachmentID `json:"attachmentId"`
	UploadURL     string              `json:"uploadUrl"`
	UploadMethod  string              `json:"uploadMethod"`
	UploadHeaders map[string]string   `json:"uploadHeaders"`
	ExpiresAt     time.Time           `json:"expiresAt"`
}

// Attachments covers uploads and downloads of files sent in messages.
type Attachments interface {
	// CreateAttachment checks the declared upload against the limits,
	// records a pending attachment owned by caller and signs its upload.
	// Errors: KindInvalid (name, type), KindTooLarge, KindRateLimited, KindUnavailable.
	CreateAttachment(ctx context.Context, caller domain.UserID, r domain.AttachmentRequest) (AttachmentUpload, error)
	// AttachmentURL signs a short-lived download of id for its uploader or a
	// member of the conversation it was sent in; images inline, every other
	// type as a download. Errors: KindNotFound (anyone else, or no such
	// attachment), KindUnavailable.
	AttachmentURL(ctx context.Context, caller domain.UserID, id domain.AttachmentID) (string, error)
}
