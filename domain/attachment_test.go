package domain_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/domain"
)

func TestAttachmentPolicyRefusesScriptableTypes(t *testing.T) {
	for _, typ := range []string{"text/html", "image/svg+xml", "Text/HTML; charset=utf-8", "application/xhtml+xml", "text/javascript"} {
		_, err := domain.NewAttachmentPolicy(0, []string{"image/png", typ})
		assert.Equal(t, domain.KindInvalid, domain.KindOf(err), typ)
	}
	_, err := domain.NewAttachmentPolicy(-1, nil)
	assert.Error(t, err)
	p, err := domain.NewAttachmentPolicy(0, nil)
	require.NoError(t, err)
	assert.Equal(t, int64(25<<20), p.MaxBytes())
	assert.Contains(t, p.Types(), "application/pdf")
}

func TestNewAttachmentCleansTheDeclaration(t *testing.T) {
	p, err := domain.NewAttachmentPolicy(1000, []string{"image/png", "application/pdf"})
	require.NoError(t, err)
	owner := domain.NewUserID()
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name     string
		req      domain.AttachmentRequest
		kind     domain.Kind
		fileName string
	}{
		{"a path keeps its last element", domain.AttachmentRequest{FileName: `C:\x\..\a"b.pdf`, ContentType: "application/pdf", Size: 5}, 0, "ab.pdf"},
		{"control characters go", domain.AttachmentRequest{FileName: "a\r\nb.png", ContentType: "IMAGE/PNG", Size: 1000}, 0, "ab.png"},
		{"a type not listed", domain.AttachmentRequest{FileName: "a.gif", ContentType: "image/gif", Size: 5}, domain.KindInvalid, ""},
		{"not a type", domain.AttachmentRequest{FileName: "a", ContentType: "png", Size: 5}, domain.KindInvalid, ""},
		{"over the limit", domain.AttachmentRequest{FileName: "a.png", ContentType: "image/png", Size: 1001}, domain.KindTooLarge, ""},
		{"negative", domain.AttachmentRequest{FileName: "a.png", ContentType: "image/png", Size: -1}, domain.KindInvalid, ""},
		{"invalid UTF-8", domain.AttachmentRequest{FileName: "\xff.png", ContentType: "image/png", Size: 5}, domain.KindInvalid, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := domain.NewAttachment(p, owner, tc.req, now, time.Minute)
			if tc.kind != 0 {
				assert.Equal(t, tc.kind, domain.KindOf(err), "%v", err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.fileName, a.FileName)
			assert.Equal(t, now.Add(time.Minute), a.ExpiresAt)
			assert.True(t, a.Readable(owner, now))
			assert.False(t, a.Readable(owner, now.Add(time.Minute)), "expired")
			assert.False(t, a.Readable(domain.NewUserID(), now))
		})
	}
}

func TestAttachRules(t *testing.T) {
	p, err := domain.NewAttachmentPolicy(0, nil)
	require.NoError(t, err)
	alice, bob, eve := domain.NewUserID(), domain.NewUserID(), domain.NewUserID()
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	a, err := domain.NewAttachment(p, alice, domain.AttachmentRequest{FileName: "r.pdf", ContentType: "application/pdf", Size: 5}, now, time.Minute)
	require.NoError(t, err)
	meta, _ := json.Marshal(map[string]string{"attachmentId": string(a.ID)})
	m, err := domain.NewMessage(domain.Draft{SenderID: alice, ReceiverID: bob, Text: "r.pdf", Type: "file", Metadata: meta}, now)
	require.NoError(t, err)
	id, ok, err := domain.AttachmentOf(m)
	require.NoError(t, err)
	assert.True(t, ok)
	assert.Equal(t, a.ID, id)
	assert.False(t, a.Inline(), "a PDF is downloaded")
	assert.NoError(t, a.CheckUpload(5, "application/pdf"))
	assert.Error(t, a.CheckUpload(6, "application/pdf"))
	assert.Error(t, a.CheckUpload(5, "text/html"))

	sent, err := a.Attach(m, now)
	require.NoError(t, err)
	assert.True(t, sent.Readable(bob, now.Add(time.Hour)), "a sent attachment does not expire")
	assert.False(t, sent.Readable(eve, now))
	again, err := sent.Attach(m, now)
	require.NoError(t, err)
	assert.Equal(t, sent, again)

	other, err := domain.NewMessage(domain.Draft{SenderID: alice, ReceiverID: bob, Text: "x", Type: "file", Metadata: meta}, now)
	require.NoError(t, err)
	_, err = sent.Attach(other, now)
	assert.Equal(t, domain.KindConflict, domain.KindOf(err))
	byBob, err := domain.NewMessage(domain.Draft{SenderID: bob, ReceiverID: alice, Text: "x", Type: "file", Metadata: meta}, now)
	require.NoError(t, err)
	_, err = a.Attach(byBob, now)
	assert.Equal(t, domain.KindNotFound, domain.KindOf(err))
	image, err := domain.NewMessage(domain.Draft{SenderID: alice, ReceiverID: bob, Text: "x", Type: "image", Metadata: meta}, now)
	require.NoError(t, err)
	assert.Error(t, a.CheckCarrier(image), "an image message with a PDF")

	text, err := domain.NewMessage(domain.Draft{SenderID: alice, ReceiverID: bob, Text: "x"}, now)
	require.NoError(t, err)
	_, ok, err = domain.AttachmentOf(text)
	assert.False(t, ok)
	assert.NoError(t, err)
}

// FuzzNewAttachment checks what any declaration that passes becomes: a
// file name of one path element, valid UTF-8, without control characters
// or quotes, within the limit; a type of the policy; a size within it.
func FuzzNewAttachment(f *testing.F) {
	for _, seed := range []struct {
		name, typ string
		size      int64
	}{
		{"cat.png", "image/png", 10}, {`..\..\a"b.pdf`, "Application/PDF; q=1", 1}, {"a\x00\r\n.txt", "text/plain", 25 << 20},
		{"\xff", "image/svg+xml", 5}, {"/", "text/html", -1}, {"x", "image/png; charset=\"", 1},
	} {
		f.Add(seed.name, seed.typ, seed.size)
	}
	p, err := domain.NewAttachmentPolicy(0, nil)
	require.NoError(f, err)
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	f.Fuzz(func(t *testing.T, name, typ string, size int64) {
		a, err := domain.NewAttachment(p, domain.NewUserID(), domain.AttachmentRequest{FileName: name, ContentType: typ, Size: size}, now, time.Minute)
		if err != nil {
			require.Contains(t, []domain.Kind{domain.KindInvalid, domain.KindTooLarge}, domain.KindOf(err))
			return
		}
		require.True(t, utf8.ValidString(a.FileName))
		require.NotEmpty(t, a.FileName)
		require.LessOrEqual(t, len(a.FileName), domain.MaxFileNameBytes)
		require.False(t, strings.ContainsAny(a.FileName, "/\\\""), a.FileName)
		for _, r := range a.FileName {
			require.False(t, unicode.IsControl(r), "%q", a.FileName)
		}
		require.Contains(t, p.Types(), a.ContentType)
		require.Positive(t, a.Size)
		require.LessOrEqual(t, a.Size, p.MaxBytes())
	})
}
