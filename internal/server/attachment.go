package server

import (
	"errors"
	"fmt"
	"log/slog"

	"github.com/messenger-go/messenger/adapters/fs"
	"github.com/messenger-go/messenger/app"
	"github.com/messenger-go/messenger/domain"
)

// wireAttachments picks where attachments' files go: a directory served by
// the node itself (MESSENGER_BLOB_DIR), or the messenger's default, a new
// temporary one; and sets their limits.
func wireAttachments(cfg Config, d *deps, logger *slog.Logger) error {
	policy, err := domain.NewAttachmentPolicy(cfg.AttachmentMaxBytes, cfg.AttachmentTypes)
	if err != nil {
		return fmt.Errorf("MESSENGER_ATTACHMENT_MAX_BYTES, MESSENGER_ATTACHMENT_TYPES: %w", err)
	}
	d.config.Attachments = app.Attachments{Policy: policy, UploadTTL: cfg.AttachmentUploadTTL, DownloadTTL: cfg.AttachmentDownloadTTL}
	switch {
	case cfg.BlobDir != "":
		var secret []byte
		if cfg.BlobSecret != "" {
			if len(cfg.BlobSecret) < 32 {
				return errors.New("MESSENGER_BLOB_SECRET must have at least 32 bytes")
			}
			secret = []byte(cfg.BlobSecret)
		}
		blobs, err := fs.New(fs.Config{Dir: cfg.BlobDir, Secret: secret, Logger: logger})
		if err != nil {
			return err
		}
		d.config.Blobs = blobs
		logger.Info("attachments: files in a directory", "dir", cfg.BlobDir)
	default:
		logger.Info("attachments: files in a temporary directory")
	}
	return nil
}
