package app_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/app"
	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
	"github.com/messenger-go/messenger/ports/portstest"
)

// fakeBlobs is a BlobStore whose uploads the test puts in place.
type fakeBlobs struct {
	mu        sync.Mutex
	blobs     map[string]ports.BlobInfo
	downloads []ports.BlobDownload
	failing   error // Delete fails with it when set
}

func (b *fakeBlobs) UploadURL(_ context.Context, key string, u ports.BlobUpload) (ports.UploadTarget, error) {
	return ports.UploadTarget{URL: "https://blobs.example/" + key, Method: "PUT", Headers: map[string]string{"Content-Type": u.ContentType}}, nil
}

func (b *fakeBlobs) DownloadURL(_ context.Context, key string, d ports.BlobDownload) (string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.downloads = append(b.downloads, d)
	return "https://blobs.example/" + key + "?get", nil
}

func (b *fakeBlobs) Stat(_ context.Context, key string) (ports.BlobInfo, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	info, ok := b.blobs[key]
	if !ok {
		return ports.BlobInfo{}, domain.Errorf(domain.KindNotFound, "no blob")
	}
	return info, nil
}

func (b *fakeBlobs) Delete(_ context.Context, key string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.failing != nil {
		return b.failing
	}
	delete(b.blobs, key)
	return nil
}

func (b *fakeBlobs) put(id domain.AttachmentID, size int64, contentType string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.blobs[string(id)] = ports.BlobInfo{Size: size, ContentType: contentType}
}

func (b *fakeBlobs) has(id domain.AttachmentID) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	_, ok := b.blobs[string(id)]
	return ok
}

// attachWorld is a world with attachments on fake blobs and a clock the
// test moves.
func attachWorld(t *testing.T) (*world, *fakeBlobs, *portstest.Clock) {
	t.Helper()
	blobs := &fakeBlobs{blobs: map[string]ports.BlobInfo{}}
	clock := portstest.NewClock()
	w := newWorld(t, func(c *app.Config) {
		c.Clock = clock
		c.Attachments = app.Attachments{Store: c.Users.(ports.AttachmentStore), Blobs: blobs, UploadTTL: time.Minute}
	})
	return w, blobs, clock
}

func declare(t *testing.T, w *world, owner domain.UserID, name, contentType string, size int64) domain.AttachmentID {
	t.Helper()
	up, err := w.app.CreateAttachment(t.Context(), owner, domain.AttachmentRequest{FileName: name, ContentType: contentType, Size: size})
	require.NoError(t, err)
	return up.AttachmentID
}

// uploadedImage declares a 10-byte PNG of owner and puts it in blobs.
func uploadedImage(t *testing.T, w *world, blobs *fakeBlobs, owner domain.UserID, name string) domain.AttachmentID {
	t.Helper()
	id := declare(t, w, owner, name, "image/png", 10)
	blobs.put(id, 10, "image/png")
	return id
}

func withAttachment(from, to domain.UserID, typ string, id domain.AttachmentID, cid string) domain.Draft {
	meta, _ := json.Marshal(map[string]string{"attachmentId": string(id)})
	return domain.Draft{SenderID: from, ReceiverID: to, Text: "look", Type: typ, Metadata: meta, ClientMessageID: cid}
}

func TestCreateAttachmentChecksTheDeclaration(t *testing.T) {
	w, _, clock := attachWorld(t)
	a := w.user(t, "ann")
	tests := []struct {
		name string
		req  domain.AttachmentRequest
		kind domain.Kind
	}{
		{"html", domain.AttachmentRequest{FileName: "x.html", ContentType: "text/html", Size: 10}, domain.KindInvalid},
		{"svg", domain.AttachmentRequest{FileName: "x.svg", ContentType: "image/svg+xml", Size: 10}, domain.KindInvalid},
		{"an unlisted type", domain.AttachmentRequest{FileName: "x.exe", ContentType: "application/x-msdownload", Size: 10}, domain.KindInvalid},
		{"oversized", domain.AttachmentRequest{FileName: "x.png", ContentType: "image/png", Size: domain.DefaultMaxAttachmentBytes + 1}, domain.KindTooLarge},
		{"empty", domain.AttachmentRequest{FileName: "x.png", ContentType: "image/png", Size: 0}, domain.KindInvalid},
		{"no name", domain.AttachmentRequest{FileName: "/", ContentType: "image/png", Size: 10}, domain.KindInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := w.app.CreateAttachment(t.Context(), a, tc.req)
			assert.Equal(t, tc.kind, domain.KindOf(err), "%v", err)
		})
	}
	up, err := w.app.CreateAttachment(t.Context(), a, domain.AttachmentRequest{FileName: "../cat.PNG", ContentType: "Image/PNG; x=y", Size: domain.DefaultMaxAttachmentBytes})
	require.NoError(t, err)
	assert.Equal(t, "PUT", up.UploadMethod)
	assert.Equal(t, map[string]string{"Content-Type": "image/png"}, up.UploadHeaders)
	assert.Equal(t, clock.Now().Add(time.Minute), up.ExpiresAt)
	att, err := w.store.Attachment(t.Context(), up.AttachmentID)
	require.NoError(t, err)
	assert.Equal(t, a, att.Owner)
	assert.Equal(t, "cat.PNG", att.FileName)
	assert.False(t, att.Sent())
}

func TestSendChecksTheAttachment(t *testing.T) {
	w, blobs, _ := attachWorld(t)
	w.run(t)
	a, b, c := w.user(t, "ann"), w.user(t, "ben"), w.user(t, "cat")
	w.friends(t, a, b)
	w.friends(t, c, b)
	ctx := t.Context()

	notUploaded := declare(t, w, a, "a.png", "image/png", 100)
	wrongSize := declare(t, w, a, "b.png", "image/png", 100)
	blobs.put(wrongSize, 101, "image/png")
	wrongType := declare(t, w, a, "c.png", "image/png", 100)
	blobs.put(wrongType, 100, "text/html")
	pdf := declare(t, w, a, "d.pdf", "application/pdf", 100)
	blobs.put(pdf, 100, "application/pdf")
	catsPicture := declare(t, w, c, "e.png", "image/png", 100)
	blobs.put(catsPicture, 100, "image/png")

	tests := []struct {
		name  string
		draft domain.Draft
		kind  domain.Kind
	}{
		{"not uploaded", withAttachment(a, b, "image", notUploaded, "1"), domain.KindInvalid},
		{"another size than declared", withAttachment(a, b, "image", wrongSize, "2"), domain.KindInvalid},
		{"another type than declared", withAttachment(a, b, "image", wrongType, "3"), domain.KindInvalid},
		{"someone else's", withAttachment(a, b, "image", catsPicture, "4"), domain.KindNotFound},
		{"unknown", withAttachment(a, b, "image", domain.AttachmentID(domain.NewUUID()), "5"), domain.KindNotFound},
		{"an image message with a document", withAttachment(a, b, "image", pdf, "6"), domain.KindInvalid},
		{"an image message without attachment", domain.Draft{SenderID: a, ReceiverID: b, Text: "x", Type: "image"}, domain.KindInvalid},
		{"a file message with a bad id", domain.Draft{SenderID: a, ReceiverID: b, Text: "x", Type: "file", Metadata: json.RawMessage(`{"attachmentId":7}`)}, domain.KindInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := w.app.SendMessage(ctx, tc.draft)
			assert.Equal(t, tc.kind, domain.KindOf(err), "%v", err)
		})
	}

	r, err := w.app.SendMessage(ctx, withAttachment(a, b, "file", pdf, "ok"))
	require.NoError(t, err)
	again, err := w.app.SendMessage(ctx, withAttachment(a, b, "file", pdf, "ok"))
	require.NoError(t, err, "a retried send binds the same attachment again")
	assert.Equal(t, r.MessageID, again.MessageID)
	_, err = w.app.SendMessage(ctx, withAttachment(a, b, "file", pdf, "other"))
	assert.Equal(t, domain.KindConflict, domain.KindOf(err), "one attachment, one message")
	att, err := w.store.Attachment(ctx, pdf)
	require.NoError(t, err)
	assert.Equal(t, r.MessageID, att.MessageID)

	for _, reader := range []domain.UserID{a, b} {
		url, err := w.app.AttachmentURL(ctx, reader, pdf)
		require.NoError(t, err)
		assert.Contains(t, url, string(pdf))
	}
	_, err = w.app.AttachmentURL(ctx, c, pdf)
	assert.Equal(t, domain.KindNotFound, domain.KindOf(err), "a stranger")
	require.Len(t, blobs.downloads, 2)
	assert.Equal(t, "d.pdf", blobs.downloads[0].FileName, "a document is served as a download")

	url, err := w.app.AttachmentURL(ctx, c, catsPicture)
	require.NoError(t, err, "its uploader reads a pending attachment")
	assert.NotEmpty(t, url)
	assert.Empty(t, blobs.downloads[2].FileName, "an image is served inline")
	_, err = w.app.AttachmentURL(ctx, b, catsPicture)
	assert.Equal(t, domain.KindNotFound, domain.KindOf(err), "not sent to anyone yet")
}

func TestUnusedUploadsExpireAndAreSwept(t *testing.T) {
	w, blobs, clock := attachWorld(t)
	a, b := w.user(t, "ann"), w.user(t, "ben")
	w.friends(t, a, b)
	ctx := t.Context()
	unused, used := uploadedImage(t, w, blobs, a, "a.png"), uploadedImage(t, w, blobs, a, "b.png")
	_, err := w.app.SendMessage(ctx, withAttachment(a, b, "image", used, "c"))
	require.NoError(t, err)

	n, err := w.app.SweepAttachments(ctx)
	require.NoError(t, err)
	assert.Zero(t, n, "nothing expired yet")

	clock.Add(time.Minute)
	_, err = w.app.AttachmentURL(ctx, a, unused)
	assert.Equal(t, domain.KindNotFound, domain.KindOf(err), "expired")
	_, err = w.app.SendMessage(ctx, withAttachment(a, b, "image", unused, "d"))
	assert.Equal(t, domain.KindNotFound, domain.KindOf(err), "expired")

	blobs.failing = domain.Errorf(domain.KindUnavailable, "down")
	_, err = w.app.SweepAttachments(ctx)
	require.Error(t, err)
	_, err = w.store.Attachment(ctx, unused)
	require.NoError(t, err, "the record stays until its file is gone")

	blobs.failing = nil
	n, err = w.app.SweepAttachments(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	assert.False(t, blobs.has(unused))
	_, err = w.store.Attachment(ctx, unused)
	assert.Equal(t, domain.KindNotFound, domain.KindOf(err))
	assert.True(t, blobs.has(used), "a sent attachment stays")
}

func TestDeletingTheMessageRemovesItsAttachment(t *testing.T) {
	w, blobs, _ := attachWorld(t)
	w.run(t)
	a, b := w.user(t, "ann"), w.user(t, "ben")
	w.friends(t, a, b)
	ctx := t.Context()
	id := uploadedImage(t, w, blobs, a, "a.png")
	r, err := w.app.SendMessage(ctx, withAttachment(a, b, "image", id, "c"))
	require.NoError(t, err)
	require.Eventually(t, func() bool { _, err := w.store.MessageByID(ctx, r.MessageID); return err == nil }, 5*time.Second, 5*time.Millisecond)

	require.NoError(t, w.app.DeleteMessage(ctx, a, r.MessageID))
	assert.False(t, blobs.has(id))
	_, err = w.store.Attachment(ctx, id)
	assert.Equal(t, domain.KindNotFound, domain.KindOf(err))
	_, err = w.app.AttachmentURL(ctx, b, id)
	assert.Equal(t, domain.KindNotFound, domain.KindOf(err))
}

func TestDeletingTheAccountRemovesItsAttachments(t *testing.T) {
	w, blobs, _ := attachWorld(t)
	a, b := w.user(t, "ann"), w.user(t, "ben")
	w.friends(t, a, b)
	ctx := t.Context()
	sent := uploadedImage(t, w, blobs, a, "a.png")
	_, err := w.app.SendMessage(ctx, withAttachment(a, b, "image", sent, "c"))
	require.NoError(t, err)
	pending := uploadedImage(t, w, blobs, a, "b.png")
	theirs := uploadedImage(t, w, blobs, b, "c.png")

	require.NoError(t, w.app.DeleteAccount(ctx, a, "long enough password"))
	assert.False(t, blobs.has(sent))
	assert.False(t, blobs.has(pending))
	assert.True(t, blobs.has(theirs))
}
