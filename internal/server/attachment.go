package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/messenger-go/messenger/adapters/fs"
	"github.com/messenger-go/messenger/adapters/s3"
	"github.com/messenger-go/messenger/app"
	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
)

// wireAttachments picks where attachments' files go: an S3-compatible
// store, a directory served by the node itself (MESSENGER_BLOB_DIR), or the
// messenger's default, a new temporary directory; and sets their limits.
func wireAttachments(ctx context.Context, cfg Config, d *deps, logger *slog.Logger) error {
	policy, err := domain.NewAttachmentPolicy(cfg.AttachmentMaxBytes, cfg.AttachmentTypes)
	if err != nil {
		return fmt.Errorf("MESSENGER_ATTACHMENT_MAX_BYTES, MESSENGER_ATTACHMENT_TYPES: %w", err)
	}
	d.config.Attachments = app.Attachments{Policy: policy, UploadTTL: cfg.AttachmentUploadTTL, DownloadTTL: cfg.AttachmentDownloadTTL}
	switch {
	case cfg.S3Endpoint != "":
		store, err := s3.New(ctx, s3.Config{
			Endpoint: cfg.S3Endpoint, Insecure: cfg.S3Insecure, Region: cfg.S3Region, Bucket: cfg.S3Bucket,
			AccessKey: cfg.S3AccessKey, SecretKey: cfg.S3SecretKey, CreateBucket: cfg.S3CreateBucket,
			CORSOrigins: cfg.S3CORSOrigins,
		})
		if err != nil {
			return err
		}
		d.config.Blobs = store
		d.config.Checks = append(d.config.Checks, ports.HealthCheck{Name: "s3", Check: store.Ping})
		logger.Info("attachments: s3", "endpoint", cfg.S3Endpoint, "bucket", cfg.S3Bucket)
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
		if cfg.DatabaseURL != "" {
			logger.Warn("attachments: files in a temporary directory of this node; other nodes cannot serve them (set MESSENGER_S3_ENDPOINT or MESSENGER_BLOB_DIR)")
		}
	}
	return nil
}
