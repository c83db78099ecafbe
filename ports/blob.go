package ports

import (
	"context"
	"net/http"
	"regexp"
	"time"

	"github.com/messenger-go/messenger/domain"
)

var blobKey = regexp.MustCompile(`^[A-Za-z0-9-]{1,128}$`)

// CheckBlobKey checks that key is one BlobStore accepts: 1 to 128
// letters, digits and '-', so it names one file and no path. Errors:
// KindInvalid.
func CheckBlobKey(key string) error {
	if !blobKey.MatchString(key) {
		return domain.Errorf(domain.KindInvalid, "invalid blob key")
	}
	return nil
}

// BlobUpload is what a client may upload under a key.
type BlobUpload struct {
	ContentType string // the upload must declare exactly this type
	Size        int64  // and have exactly this many bytes, where the store can enforce it
	Expires     time.Time
}

// BlobDownload is how a download is served.
type BlobDownload struct {
	ContentType string
	// FileName, when set, serves the blob as a download
	// (Content-Disposition: attachment) under this name; empty: inline.
	FileName string
	Expires  time.Time
}

// UploadTarget tells a client how to upload: one request of Method to URL
// with Headers, the body being the file.
type UploadTarget struct {
	URL     string
	Method  string
	Headers map[string]string
}

// BlobInfo is what a store holds under a key.
type BlobInfo struct {
	Size        int64
	ContentType string
}

// BlobStore keeps uploaded files. Clients move the bytes themselves, through
// signed URLs that stop working at their expiry; the server only signs,
// checks and deletes. Keys are made of letters, digits and '-'. Safe for
// concurrent use.
type BlobStore interface {
	// UploadURL signs an upload of key. It does not touch the store.
	// Errors: KindInvalid (key), KindUnavailable.
	UploadURL(ctx context.Context, key string, u BlobUpload) (UploadTarget, error)
	// DownloadURL signs a download of key, whether or not it exists yet.
	// Errors: KindInvalid (key), KindUnavailable.
	DownloadURL(ctx context.Context, key string, d BlobDownload) (string, error)
	// Stat returns what is stored under key. Errors: KindNotFound (nothing
	// uploaded), KindUnavailable.
	Stat(ctx context.Context, key string) (BlobInfo, error)
	// Delete removes key. Deleting a missing key succeeds.
	// Errors: KindUnavailable.
	Delete(ctx context.Context, key string) error
}

// BlobServer is a BlobStore whose signed URLs point at the messenger's own
// server: Handler serves them, under Prefix. Optional.
type BlobServer interface {
	Prefix() string // a path ending in '/', for example "/blobs/"
	Handler() http.Handler
}
