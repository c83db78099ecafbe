package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
)

// Defaults of Config.
const (
	DefaultAttempts = 5
	DefaultBackoff  = 500 * time.Millisecond
	DefaultTimeout  = 10 * time.Second
	maxBackoff      = 30 * time.Second
	minSecretBytes  = 16
)

// Config configures a Pusher.
type Config struct {
	// URL receives the calls. Required.
	URL string
	// Secret signs the calls; at least 16 bytes. Required.
	Secret []byte
	// Attempts is how many times a call is tried before it is
	// dead-lettered; default DefaultAttempts.
	Attempts int
	// Backoff is the wait before the first retry, doubled before each next
	// one up to 30 s; default DefaultBackoff.
	Backoff time.Duration
	// Client makes the calls; default one with a DefaultTimeout timeout.
	Client *http.Client
	// DeadLetter, optional, is told of each call given up on, beside the
	// log line the Pusher writes.
	DeadLetter func(ctx context.Context, c Call, reason error)
	// Now is the clock of the timestamps; default time.Now.
	Now func() time.Time
	// Logger receives the dead letters; default discard.
	Logger *slog.Logger
}

// Call is the JSON body of one webhook call.
type Call struct {
	ID           string                  `json:"id"`      // the same on every attempt: receivers drop repeats by it
	Attempt      int                     `json:"attempt"` // 1, 2, ...: each attempt is a new signed call
	DeviceID     domain.DeviceID         `json:"deviceId"`
	UserID       domain.UserID           `json:"userId"`
	Token        string                  `json:"token"`
	Notification domain.PushNotification `json:"notification"`
}

// Pusher posts notifications to the webhook.
type Pusher struct {
	cfg Config
}

var _ ports.Pusher = (*Pusher)(nil)

// New checks cfg and returns a Pusher.
func New(cfg Config) (*Pusher, error) {
	if cfg.URL == "" {
		return nil, errors.New("webhook: URL is required")
	}
	if len(cfg.Secret) < minSecretBytes {
		return nil, fmt.Errorf("webhook: the secret must be at least %d bytes", minSecretBytes)
	}
	if cfg.Attempts <= 0 {
		cfg.Attempts = DefaultAttempts
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = DefaultBackoff
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: DefaultTimeout}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Pusher{cfg: cfg}, nil
}

// Push implements ports.Pusher. A 2xx answer is success; 404 and 410 say
// the token is unknown (KindNotFound); 408, 429, 5xx and transport errors
// are retried with backoff, each attempt signed anew; any other answer, or
// Attempts failures, dead-letter the call.
func (p *Pusher) Push(ctx context.Context, d domain.Device, n domain.PushNotification) error {
	c := Call{ID: domain.NewUUID(), DeviceID: d.ID, UserID: d.User, Token: d.Token, Notification: n}
	wait := p.cfg.Backoff
	var last error
	for attempt := 1; ; attempt++ {
		c.Attempt = attempt
		body, err := json.Marshal(c)
		if err != nil {
			return domain.Wrap(domain.KindInternal, err, "webhook: encode")
		}
		retry, err := p.post(ctx, c.ID, body)
		if err == nil {
			return nil
		}
		last = err
		if !retry {
			break
		}
		if attempt >= p.cfg.Attempts {
			break
		}
		select {
		case <-ctx.Done():
			last = fmt.Errorf("%w (then: %w)", last, ctx.Err())
		case <-time.After(wait):
			wait = min(2*wait, maxBackoff)
			continue
		}
		break
	}
	if domain.KindOf(last) == domain.KindNotFound {
		return last
	}
	p.cfg.Logger.WarnContext(ctx, "webhook: call dead-lettered", "id", c.ID, "deviceId", d.ID,
		"conversationId", n.ConversationID, "err", last)
	if p.cfg.DeadLetter != nil {
		p.cfg.DeadLetter(ctx, c, last)
	}
	if domain.KindOf(last) == domain.KindInvalid {
		return last
	}
	return domain.Wrap(domain.KindUnavailable, last, "webhook: gave up")
}

// post makes one attempt and says whether a failure may pass on retry.
func (p *Pusher) post(ctx context.Context, id string, body []byte) (retry bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return false, domain.Wrap(domain.KindInvalid, err, "webhook: request")
	}
	ts := strconv.FormatInt(p.cfg.Now().Unix(), 10)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(HeaderTimestamp, ts)
	req.Header.Set(HeaderSignature, Sign(p.cfg.Secret, ts, body))
	req.Header.Set(HeaderDelivery, id)
	resp, err := p.cfg.Client.Do(req)
	if err != nil {
		return ctx.Err() == nil, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	switch code := resp.StatusCode; {
	case code >= 200 && code < 300:
		return false, nil
	case code == http.StatusNotFound || code == http.StatusGone:
		return false, domain.Errorf(domain.KindNotFound, "webhook: token unknown to the receiver (%d)", code)
	case code == http.StatusRequestTimeout || code == http.StatusTooManyRequests || code >= 500:
		return true, fmt.Errorf("webhook: answered %d", code)
	default:
		return false, domain.Errorf(domain.KindInvalid, "webhook: refused with %d", code)
	}
}
