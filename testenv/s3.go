package testenv

import (
	"net"
	"testing"
	"time"
)

// Variables of the S3-compatible server scripts/services.sh starts.
const (
	EnvS3Endpoint  = "MESSENGER_TEST_S3_ENDPOINT"
	EnvS3AccessKey = "MESSENGER_TEST_S3_ACCESS_KEY"
	EnvS3SecretKey = "MESSENGER_TEST_S3_SECRET_KEY"
	EnvS3Region    = "MESSENGER_TEST_S3_REGION"
)

// S3Env is an S3-compatible server (plain HTTP) and a bucket name unique
// to the test, which the test creates.
type S3Env struct {
	Endpoint             string // host:port
	AccessKey, SecretKey string
	Region               string
	Bucket               string
}

// S3 returns the S3-compatible server of MESSENGER_TEST_S3_ENDPOINT, after
// checking that it answers, with a fresh bucket name; the test fails when
// there is none (no container fallback: scripts/services.sh starts one). The
// buckets live as long as the server's state directory.
func S3(t testing.TB) S3Env {
	t.Helper()
	skipIfShort(t, "an S3-compatible server")
	e := S3Env{Endpoint: lookup(EnvS3Endpoint), AccessKey: lookup(EnvS3AccessKey), SecretKey: lookup(EnvS3SecretKey),
		Region: lookup(EnvS3Region), Bucket: "t-" + randomHex(12)}
	if e.Endpoint == "" || e.AccessKey == "" || e.SecretKey == "" {
		t.Fatalf("testenv: no S3: %s, %s and %s must be set; run `eval \"$(scripts/services.sh up)\"` (or `make test`) first",
			EnvS3Endpoint, EnvS3AccessKey, EnvS3SecretKey)
	}
	conn, err := net.DialTimeout("tcp", e.Endpoint, serviceCheckTimeout)
	if err != nil {
		t.Fatalf("testenv: S3 at %s (%s) does not answer: %v; %s", e.Endpoint, source(EnvS3Endpoint), err, servicesHint)
	}
	_ = conn.SetDeadline(time.Now())
	_ = conn.Close()
	if e.Region == "" {
		e.Region = "us-east-1"
	}
	return e
}
