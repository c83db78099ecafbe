package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// The headers of a webhook call.
const (
	HeaderTimestamp = "X-Messenger-Timestamp" // Unix seconds when the call was signed
	HeaderSignature = "X-Messenger-Signature" // "v1=" + hex HMAC-SHA256 of timestamp + "." + body
	HeaderDelivery  = "X-Messenger-Delivery"  // the notification's id, the same on every attempt
)

// Errors of Verifier.Verify.
var (
	ErrSignature = errors.New("webhook: bad or missing signature")
	ErrStale     = errors.New("webhook: timestamp missing or too far from now")
	ErrReplay    = errors.New("webhook: this signed call was received before")
)

// Verifier checks the webhook's calls on the receiving side: the signature
// over the timestamp and the body under the deployment's secret, the
// timestamp within Tolerance of now, and each signed call once (a replay
// within the tolerance is refused, a later one is stale). Retries are signed
// anew and pass; they carry the same delivery id. Safe for concurrent use.
type Verifier struct {
	Secret    []byte
	Tolerance time.Duration    // default 5 minutes
	Now       func() time.Time // default time.Now

	mu   sync.Mutex
	seen map[string]time.Time // signature -> its timestamp
}

// Verify reads r's body (at most 1 MiB) and returns it if the call is
// genuine and new.
func (v *Verifier) Verify(r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	tolerance, now := v.Tolerance, time.Now()
	if tolerance <= 0 {
		tolerance = 5 * time.Minute
	}
	if v.Now != nil {
		now = v.Now()
	}
	ts := r.Header.Get(HeaderTimestamp)
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return nil, ErrStale
	}
	at := time.Unix(sec, 0)
	if now.Sub(at).Abs() > tolerance {
		return nil, ErrStale
	}
	got := r.Header.Get(HeaderSignature)
	if !hmac.Equal([]byte(Sign(v.Secret, ts, body)), []byte(got)) {
		return nil, ErrSignature
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.seen == nil {
		v.seen = map[string]time.Time{}
	}
	for sig, t := range v.seen {
		if now.Sub(t) > tolerance {
			delete(v.seen, sig)
		}
	}
	if _, ok := v.seen[got]; ok {
		return nil, ErrReplay
	}
	v.seen[got] = at
	return body, nil
}

// Sign returns the signature header of body signed at timestamp ts (Unix
// seconds, as sent) under secret: "v1=" and the hex HMAC-SHA256 of
// ts + "." + body.
func Sign(secret []byte, ts string, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(ts + "."))
	mac.Write(body)
	return "v1=" + hex.EncodeToString(mac.Sum(nil))
}
