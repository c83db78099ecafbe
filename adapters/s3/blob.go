package s3

import (
	"context"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/cors"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
)

// DefaultRegion is the region signatures are made for when none is set.
const DefaultRegion = "us-east-1"

// Config configures a Store.
type Config struct {
	// Endpoint is the store's host[:port], as clients reach it too: the
	// presigned URLs name it. Required.
	Endpoint string
	// Insecure talks plain HTTP (a local store); default HTTPS.
	Insecure bool
	// Region of the bucket. Default DefaultRegion.
	Region string
	// Bucket holds the files. Required.
	Bucket string
	// AccessKey and SecretKey are the credentials. Required.
	AccessKey, SecretKey string
	// CreateBucket makes the bucket when it is missing.
	CreateBucket bool
	// CORSOrigins, when set, are the browser origins (the web client's)
	// New allows, in the bucket's CORS configuration, to upload and
	// download; it replaces the bucket's CORS rules. Empty: left as it is.
	CORSOrigins []string
}

// Store is a ports.BlobStore on one bucket. Safe for concurrent use.
type Store struct {
	client *minio.Client
	bucket string
	origin string
}

var _ ports.BlobStore = (*Store)(nil)

// New checks cfg and returns the store; with CreateBucket it makes the
// bucket when missing, which needs the store to answer.
func New(ctx context.Context, cfg Config) (*Store, error) {
	if cfg.Endpoint == "" || cfg.Bucket == "" || cfg.AccessKey == "" || cfg.SecretKey == "" {
		return nil, errors.New("s3: Config.Endpoint, Bucket, AccessKey and SecretKey are required")
	}
	if cfg.Region == "" {
		cfg.Region = DefaultRegion
	}
	client, err := minio.New(cfg.Endpoint, &minio.Options{
		Creds:  credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure: !cfg.Insecure,
		Region: cfg.Region,
	})
	if err != nil {
		return nil, fmt.Errorf("s3: %w", err)
	}
	scheme := "https://"
	if cfg.Insecure {
		scheme = "http://"
	}
	s := &Store{client: client, bucket: cfg.Bucket, origin: scheme + cfg.Endpoint}
	if cfg.CreateBucket {
		exists, err := client.BucketExists(ctx, cfg.Bucket)
		if err != nil {
			return nil, fmt.Errorf("s3: bucket %s: %w", cfg.Bucket, err)
		}
		if !exists {
			if err := client.MakeBucket(ctx, cfg.Bucket, minio.MakeBucketOptions{Region: cfg.Region}); err != nil {
				return nil, fmt.Errorf("s3: make bucket %s: %w", cfg.Bucket, err)
			}
		}
	}
	if len(cfg.CORSOrigins) > 0 {
		rules := cors.NewConfig([]cors.Rule{{
			AllowedOrigin: cfg.CORSOrigins,
			AllowedMethod: []string{http.MethodPut, http.MethodGet, http.MethodHead},
			AllowedHeader: []string{"*"},
			ExposeHeader:  []string{"Content-Type", "Content-Disposition", "Content-Length", "ETag"},
			MaxAgeSeconds: 3600,
		}})
		if err := client.SetBucketCors(ctx, cfg.Bucket, rules); err != nil {
			return nil, fmt.Errorf("s3: CORS of bucket %s: %w", cfg.Bucket, err)
		}
	}
	return s, nil
}

// Origin is where clients reach the store (scheme://host[:port]): a web
// client's Content-Security-Policy must let it connect there.
func (s *Store) Origin() string { return s.origin }

// Ping checks that the bucket answers, for readiness.
func (s *Store) Ping(ctx context.Context) error {
	ok, err := s.client.BucketExists(ctx, s.bucket)
	if err != nil {
		return translate(err, "s3 unavailable")
	}
	if !ok {
		return domain.Errorf(domain.KindUnavailable, "s3: no bucket %s", s.bucket)
	}
	return nil
}

// lifetime is how long a URL expiring at t works: whole seconds, at
// least one (the least a presigned URL may have).
func lifetime(t time.Time) time.Duration {
	return max(time.Until(t).Round(time.Second), time.Second)
}

// UploadURL implements ports.BlobStore with a presigned PUT that signs
// Content-Type and Content-Length: the store refuses another type or size.
func (s *Store) UploadURL(ctx context.Context, key string, u ports.BlobUpload) (ports.UploadTarget, error) {
	if err := ports.CheckBlobKey(key); err != nil {
		return ports.UploadTarget{}, err
	}
	h := http.Header{}
	h.Set("Content-Type", u.ContentType)
	h.Set("Content-Length", strconv.FormatInt(u.Size, 10))
	signed, err := s.client.PresignHeader(ctx, http.MethodPut, s.bucket, key, lifetime(u.Expires), nil, h)
	if err != nil {
		return ports.UploadTarget{}, translate(err, "upload not signed")
	}
	return ports.UploadTarget{URL: signed.String(), Method: http.MethodPut,
		Headers: map[string]string{"Content-Type": u.ContentType}}, nil
}

// DownloadURL implements ports.BlobStore with a presigned GET whose answer
// carries d's type and disposition.
func (s *Store) DownloadURL(ctx context.Context, key string, d ports.BlobDownload) (string, error) {
	if err := ports.CheckBlobKey(key); err != nil {
		return "", err
	}
	q := url.Values{}
	q.Set("response-content-type", d.ContentType)
	if d.FileName != "" {
		q.Set("response-content-disposition", mime.FormatMediaType("attachment", map[string]string{"filename": d.FileName}))
	} else {
		q.Set("response-content-disposition", "inline")
	}
	signed, err := s.client.PresignedGetObject(ctx, s.bucket, key, lifetime(d.Expires), q)
	if err != nil {
		return "", translate(err, "download not signed")
	}
	return signed.String(), nil
}

// Stat implements ports.BlobStore.
func (s *Store) Stat(ctx context.Context, key string) (ports.BlobInfo, error) {
	if err := ports.CheckBlobKey(key); err != nil {
		return ports.BlobInfo{}, err
	}
	info, err := s.client.StatObject(ctx, s.bucket, key, minio.StatObjectOptions{})
	if err != nil {
		return ports.BlobInfo{}, translate(err, "blob store unavailable")
	}
	return ports.BlobInfo{Size: info.Size, ContentType: info.ContentType}, nil
}

// Delete implements ports.BlobStore.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := ports.CheckBlobKey(key); err != nil {
		return err
	}
	err := s.client.RemoveObject(ctx, s.bucket, key, minio.RemoveObjectOptions{})
	if domain.KindOf(translate(err, "")) == domain.KindNotFound {
		return nil
	}
	return translate(err, "blob not deleted")
}

// translate gives a store error its kind: a missing object is not found,
// anything else the store's trouble.
func translate(err error, what string) error {
	if err == nil {
		return nil
	}
	resp := minio.ToErrorResponse(err)
	if resp.StatusCode == http.StatusNotFound || resp.Code == "NoSuchKey" {
		return domain.Wrap(domain.KindNotFound, err, "no such blob")
	}
	return domain.Wrap(domain.KindUnavailable, err, what)
}
