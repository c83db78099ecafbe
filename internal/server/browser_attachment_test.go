package server_test

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// writePNG writes a w×h PNG to dir/name and returns its path.
func writePNG(t *testing.T, dir, name string, w, h int) string {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for x := range w {
		for y := range h {
			img.Set(x, y, color.RGBA{R: uint8(x * 255 / w), G: uint8(y * 255 / h), B: 160, A: 255})
		}
	}
	var b bytes.Buffer
	require.NoError(t, png.Encode(&b, img))
	path := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(path, b.Bytes(), 0o600))
	return path
}

// attachmentScenario has alice attach an image and a PDF in the web client:
// bob's client shows the image inline, decoded from the bytes it downloaded,
// and the PDF as a link.
func attachmentScenario(t *testing.T, alice, bob *page, aliceAPI, bobAPI *user) {
	alice.login("Alice Tester", aliceAPI.email)
	bob.login("Bob Tester", bobAPI.email)
	alice.route("#/chat/" + string(bobAPI.id))
	bob.route("#/chat/" + string(aliceAPI.id))
	alice.waitFor("the composer", `!!document.querySelector('#composer-file')`)
	bob.waitFor("the chat", `!!document.querySelector('#composer-input')`)

	dir := t.TempDir()
	picture := writePNG(t, dir, "sunset.png", 64, 48)
	pdf := filepath.Join(dir, "notes.pdf")
	require.NoError(t, os.WriteFile(pdf, []byte("%PDF-1.4\n% a tiny test document\n%%EOF\n"), 0o600))

	alice.do("attaching an image", chromedp.SetUploadFiles(chromedp.CSS(`#composer-file`), []string{picture}))
	alice.waitTick("sunset.png", "read")
	const shown = `(() => { const img = document.querySelector('li.msg.theirs img.attachment');
		return !!img && img.complete && img.naturalWidth === 64 && img.naturalHeight === 48 && img.src.startsWith('blob:'); })()`
	bob.waitFor("alice's image shown inline", shown)
	alice.waitFor("the image at alice's side", `(() => { const img = document.querySelector('li.msg.mine img.attachment');
		return !!img && img.complete && img.naturalWidth === 64; })()`)

	alice.do("attaching a document", chromedp.SetUploadFiles(chromedp.CSS(`#composer-file`), []string{pdf}))
	alice.waitTick("notes.pdf", "read")
	bob.waitFor("the document as a link", `[...document.querySelectorAll('li.msg.theirs a.attachment.file')].some((a) => a.textContent.includes('notes.pdf'))`)
	require.Equal(t, 1, eval[int](bob, `document.querySelectorAll('li.msg.theirs img.attachment').length`), "only the image is inline")
	alice.noCSPViolation()
	bob.noCSPViolation()
}

// TestBrowserAttachment runs the attachment scenario on the embedded
// default: the files are on the node's filesystem, served under /blobs/.
func TestBrowserAttachment(t *testing.T) {
	browser, base, aliceAPI, bobAPI := twoFriends(t, nil)
	attachmentScenario(t, newPage(t, browser, "alice", base), newPage(t, browser, "bob", base), aliceAPI, bobAPI)
}

// TestBrowserAttachmentS3 runs it with alice on one node and bob on another
// of the real stack, the browsers uploading to and downloading from the S3
// server itself (its origin in the page's policy, theirs in the bucket's
// CORS).
func TestBrowserAttachmentS3(t *testing.T) {
	browser := startBrowser(t)
	s := newStack(t)
	s.withS3(t)
	n1, n2 := s.start(t, "node-1"), s.start(t, "node-2")
	aliceAPI, bobAPI := register(t, n1.base, "Alice"), register(t, n2.base, "Bob")
	befriend(t, aliceAPI, bobAPI)
	attachmentScenario(t, newPage(t, browser, "alice", n1.base), newPage(t, browser, "bob", n2.base), aliceAPI, bobAPI)
}
