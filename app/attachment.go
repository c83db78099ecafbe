package app

import (
	"context"
	"time"

	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
)

// Defaults of Attachments.
const (
	DefaultUploadTTL   = 15 * time.Minute
	DefaultDownloadTTL = 5 * time.Minute
	DefaultSweepEvery  = time.Minute
)

// Attachments configure files sent in messages: the records, the files,
// and the limits.
type Attachments struct {
	Store ports.AttachmentStore // required with Blobs
	Blobs ports.BlobStore       // required with Store
	// Policy bounds declared uploads. Zero: domain.DefaultMaxAttachmentBytes
	// of domain.DefaultAttachmentTypes.
	Policy domain.AttachmentPolicy
	// UploadTTL is how long an upload URL works, and how long an attachment
	// may stay pending before the sweep removes it. Default DefaultUploadTTL.
	UploadTTL time.Duration
	// DownloadTTL is how long a download URL works. Default DefaultDownloadTTL.
	DownloadTTL time.Duration
	// SweepEvery is how often RunAttachmentSweep looks for expired
	// attachments. Default DefaultSweepEvery.
	SweepEvery time.Duration
}

func (c Attachments) withDefaults() (Attachments, error) {
	if (c.Store == nil) != (c.Blobs == nil) {
		return c, domain.Errorf(domain.KindInvalid, "app: Attachments.Store and Attachments.Blobs go together")
	}
	if c.Policy.MaxBytes() == 0 {
		p, err := domain.NewAttachmentPolicy(0, nil)
		if err != nil {
			return c, err
		}
		c.Policy = p
	}
	if c.UploadTTL <= 0 {
		c.UploadTTL = DefaultUploadTTL
	}
	if c.DownloadTTL <= 0 {
		c.DownloadTTL = DefaultDownloadTTL
	}
	if c.SweepEvery <= 0 {
		c.SweepEvery = DefaultSweepEvery
	}
	return c, nil
}

var errNoAttachments = domain.Errorf(domain.KindUnavailable, "attachments are not enabled")

// CreateAttachment records a pending attachment of caller and signs its
// upload. Declaring uploads counts against the caller's send limit.
func (a *App) CreateAttachment(ctx context.Context, caller domain.UserID, r domain.AttachmentRequest) (ports.AttachmentUpload, error) {
	c := a.cfg.Attachments
	if c.Store == nil {
		return ports.AttachmentUpload{}, errNoAttachments
	}
	att, err := domain.NewAttachment(c.Policy, caller, r, a.now(), c.UploadTTL)
	if err != nil {
		return ports.AttachmentUpload{}, err
	}
	if err := a.allow(ctx, "send:"+string(caller)); err != nil {
		return ports.AttachmentUpload{}, err
	}
	target, err := c.Blobs.UploadURL(ctx, string(att.ID), ports.BlobUpload{ContentType: att.ContentType, Size: att.Size, Expires: att.ExpiresAt})
	if err != nil {
		return ports.AttachmentUpload{}, err
	}
	if err := c.Store.CreateAttachment(ctx, att); err != nil {
		return ports.AttachmentUpload{}, err
	}
	return ports.AttachmentUpload{
		AttachmentID: att.ID, UploadURL: target.URL, UploadMethod: target.Method, UploadHeaders: target.Headers,
		ExpiresAt: att.ExpiresAt,
	}, nil
}

var errNoSuchAttachment = domain.Errorf(domain.KindNotFound, "no such attachment")

// AttachmentURL signs a download of id for those who may read it.
func (a *App) AttachmentURL(ctx context.Context, caller domain.UserID, id domain.AttachmentID) (string, error) {
	c := a.cfg.Attachments
	if c.Store == nil {
		return "", errNoSuchAttachment
	}
	att, err := c.Store.Attachment(ctx, id)
	if domain.KindOf(err) == domain.KindNotFound {
		return "", errNoSuchAttachment
	}
	if err != nil {
		return "", err
	}
	now := a.now()
	if !att.Readable(caller, now) {
		return "", errNoSuchAttachment
	}
	d := ports.BlobDownload{ContentType: att.ContentType, Expires: now.Add(c.DownloadTTL)}
	if !att.Inline() {
		d.FileName = att.FileName
	}
	return c.Blobs.DownloadURL(ctx, string(att.ID), d)
}

// attach checks the attachment an image or file message carries and binds
// it to m, before m is published: it must be the sender's, pending or
// already m's (a retried send), and uploaded with the declared size and
// type. A send that fails after this leaves the attachment bound to a
// message that never came; its uploader can still read it and the sweep
// never removes it, which costs one file and loses nothing.
func (a *App) attach(ctx context.Context, m domain.Message) error {
	c := a.cfg.Attachments
	if c.Store == nil {
		return nil
	}
	id, ok, err := domain.AttachmentOf(m)
	if !ok || err != nil {
		return err
	}
	att, err := c.Store.Attachment(ctx, id)
	if domain.KindOf(err) == domain.KindNotFound {
		return errNoSuchAttachment
	}
	if err != nil {
		return err
	}
	now := a.now()
	if _, err := att.Attach(m, now); err != nil {
		return err
	}
	if err := att.CheckCarrier(m); err != nil {
		return err
	}
	info, err := c.Blobs.Stat(ctx, string(att.ID))
	if domain.KindOf(err) == domain.KindNotFound {
		return domain.Errorf(domain.KindInvalid, "the attachment was not uploaded")
	}
	if err != nil {
		return err
	}
	if err := att.CheckUpload(info.Size, info.ContentType); err != nil {
		return err
	}
	_, err = c.Store.UpdateAttachment(ctx, id, func(cur domain.Attachment) (domain.Attachment, error) {
		return cur.Attach(m, now)
	})
	return err
}

// releaseAttachments lets the attachments of a deleted message, or of a
// deleted account, go: they expire now and are removed at once, or by the
// sweep when the blob store does not answer.
func (a *App) releaseAttachments(ctx context.Context, msg domain.MessageID, owner domain.UserID) {
	c := a.cfg.Attachments
	if c.Store == nil {
		return
	}
	n, err := c.Store.ReleaseAttachments(ctx, msg, owner, a.now())
	if err != nil {
		a.logger.WarnContext(ctx, "attachments not released; they stay until released again", "message", msg, "owner", owner, "err", err)
		return
	}
	if n > 0 {
		if _, err := a.SweepAttachments(ctx); err != nil {
			a.logger.WarnContext(ctx, "released attachments not removed yet; the sweep retries", "err", err)
		}
	}
}

// sweepBatch bounds the attachments one sweep round reads.
const sweepBatch = 100

// SweepAttachments removes the expired attachments, file first, then the
// record, and returns how many it removed. A file the blob store cannot
// delete keeps its record, so the next sweep tries again.
func (a *App) SweepAttachments(ctx context.Context) (int, error) {
	c := a.cfg.Attachments
	if c.Store == nil {
		return 0, nil
	}
	removed := 0
	for {
		expired, err := c.Store.ExpiredAttachments(ctx, a.now(), sweepBatch)
		if err != nil {
			return removed, err
		}
		for _, att := range expired {
			if err := c.Blobs.Delete(ctx, string(att.ID)); err != nil {
				return removed, err
			}
			if err := c.Store.DeleteAttachment(ctx, att.ID); err != nil {
				return removed, err
			}
			removed++
		}
		if len(expired) < sweepBatch {
			return removed, nil
		}
	}
}

// RunAttachmentSweep removes expired attachments every
// Attachments.SweepEvery until ctx ends. A failed round is logged and
// retried at the next.
func (a *App) RunAttachmentSweep(ctx context.Context) error {
	if a.cfg.Attachments.Store == nil {
		<-ctx.Done()
		return ctx.Err()
	}
	t := time.NewTicker(a.cfg.Attachments.SweepEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
		if n, err := a.SweepAttachments(ctx); err != nil && ctx.Err() == nil {
			a.logger.WarnContext(ctx, "attachment sweep failed; retried next round", "removed", n, "err", err)
		} else if n > 0 {
			a.logger.InfoContext(ctx, "expired attachments removed", "count", n)
		}
	}
}
