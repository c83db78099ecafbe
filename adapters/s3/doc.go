// Package s3 keeps attachments' files in an S3-compatible object store
// (AWS S3, MinIO, Ceph, versitygw, ...) through minio-go: clients upload
// and download with presigned URLs, straight to the store; the server only
// signs, stats and deletes. Browsers on another origin need the bucket's
// CORS to allow their origin for PUT and GET.
package s3
