package fcm

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"

	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
)

// Scope is the OAuth2 scope of sending messages.
const Scope = "https://www.googleapis.com/auth/firebase.messaging"

// Defaults of Config.
const (
	DefaultEndpoint = "https://fcm.googleapis.com"
	DefaultAttempts = 4
	DefaultBackoff  = time.Second
	DefaultTimeout  = 10 * time.Second
	maxBackoff      = 60 * time.Second
)

// Config configures a Pusher.
type Config struct {
	// Project is the Firebase project id. Default: the credentials'
	// project_id.
	Project string
	// Credentials is the service account's JSON key file, as the Firebase
	// console gives it; its private key signs the JWT exchanged at its
	// token_uri for access tokens. Required.
	Credentials []byte
	// Endpoint is where the API is; default DefaultEndpoint.
	Endpoint string
	// Attempts is how many times a send that FCM says may succeed later
	// (429, 500, 503) is tried; default DefaultAttempts. A Retry-After
	// answer is waited for; otherwise the wait starts at Backoff (default
	// DefaultBackoff) and doubles.
	Attempts int
	Backoff  time.Duration
	// Client makes the calls, and the token exchanges; default one with a
	// DefaultTimeout timeout.
	Client *http.Client
	// Logger receives what is given up on; default discard.
	Logger *slog.Logger
}

// Pusher sends notifications through FCM.
type Pusher struct {
	cfg    Config
	url    string
	tokens oauth2.TokenSource
}

var _ ports.Pusher = (*Pusher)(nil)

// New checks cfg and returns a Pusher. No call is made before the first
// Push.
func New(cfg Config) (*Pusher, error) {
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: DefaultTimeout}
	}
	if cfg.Endpoint == "" {
		cfg.Endpoint = DefaultEndpoint
	}
	if cfg.Attempts <= 0 {
		cfg.Attempts = DefaultAttempts
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = DefaultBackoff
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	jwt, err := google.JWTConfigFromJSON(cfg.Credentials, Scope)
	if err != nil {
		return nil, fmt.Errorf("fcm: credentials: %w", err)
	}
	if cfg.Project == "" {
		var key struct {
			ProjectID string `json:"project_id"`
		}
		_ = json.Unmarshal(cfg.Credentials, &key)
		cfg.Project = key.ProjectID
	}
	if cfg.Project == "" {
		return nil, errors.New("fcm: no project: set it, or use credentials that name it")
	}
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, cfg.Client)
	return &Pusher{cfg: cfg, tokens: oauth2.ReuseTokenSource(nil, jwt.TokenSource(ctx)),
		url: strings.TrimSuffix(cfg.Endpoint, "/") + "/v1/projects/" + cfg.Project + "/messages:send"}, nil
}

// request is the body of messages:send.
type request struct {
	Message message `json:"message"`
}

type message struct {
	Token        string            `json:"token"`
	Notification notification      `json:"notification"`
	Data         map[string]string `json:"data"`
	Android      android           `json:"android"`
	APNS         apns              `json:"apns"`
}

type notification struct {
	Title string `json:"title"`
	Body  string `json:"body"`
}

type android struct {
	CollapseKey string `json:"collapse_key"`
	Priority    string `json:"priority"`
}

type apns struct {
	Headers map[string]string `json:"headers"`
}

// Message returns the message of messages:send that tells n to device
// token: the notification shown, the data an app reads (strings, as FCM
// requires), and one collapse key per conversation on both platforms, so a
// newer notification of a conversation replaces the older one.
func Message(token string, n domain.PushNotification) any {
	title := n.SenderName
	if title == "" {
		title = "New messages"
	}
	body := n.Text
	if body == "" {
		body = "1 new message"
		if n.Count != 1 {
			body = strconv.Itoa(n.Count) + " new messages"
		}
	}
	sum := sha256.Sum256([]byte(n.ConversationID))
	collapse := hex.EncodeToString(sum[:16]) // apns-collapse-id takes at most 64 bytes
	return request{Message: message{
		Token:        token,
		Notification: notification{Title: title, Body: body},
		Data: map[string]string{
			"conversationId": string(n.ConversationID), "count": strconv.Itoa(n.Count),
			"lastSequenceId": strconv.FormatInt(int64(n.LastSequence), 10),
		},
		Android: android{CollapseKey: collapse, Priority: "high"},
		APNS:    apns{Headers: map[string]string{"apns-collapse-id": collapse}},
	}}
}

// apiError is FCM's error answer.
type apiError struct {
	Error struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		Status  string `json:"status"`
		Details []struct {
			Type      string `json:"@type"`
			ErrorCode string `json:"errorCode"`
		} `json:"details"`
	} `json:"error"`
}

// Push implements ports.Pusher. UNREGISTERED (404) is KindNotFound;
// QUOTA_EXCEEDED (429), INTERNAL (500) and UNAVAILABLE (503) are retried
// with backoff, then KindUnavailable; INVALID_ARGUMENT,
// SENDER_ID_MISMATCH and THIRD_PARTY_AUTH_ERROR are KindInvalid at once.
func (p *Pusher) Push(ctx context.Context, d domain.Device, n domain.PushNotification) error {
	body, err := json.Marshal(Message(d.Token, n))
	if err != nil {
		return domain.Wrap(domain.KindInternal, err, "fcm: encode")
	}
	wait := p.cfg.Backoff
	for attempt := 1; ; attempt++ {
		after, err := p.send(ctx, body)
		if err == nil || after < 0 {
			return err
		}
		if attempt >= p.cfg.Attempts {
			p.cfg.Logger.WarnContext(ctx, "fcm: send given up", "deviceId", d.ID, "attempts", attempt, "err", err)
			return domain.Wrap(domain.KindUnavailable, err, "fcm: gave up")
		}
		if after == 0 {
			after, wait = wait, min(2*wait, maxBackoff)
		}
		select {
		case <-ctx.Done():
			return domain.Wrap(domain.KindUnavailable, fmt.Errorf("%w (then: %w)", err, ctx.Err()), "fcm: gave up")
		case <-time.After(after):
		}
	}
}

// send makes one attempt. On failure it says when to retry: a negative
// duration never, zero after the backoff, more as the server asked.
func (p *Pusher) send(ctx context.Context, body []byte) (time.Duration, error) {
	tok, err := p.tokens.Token()
	if err != nil {
		return 0, fmt.Errorf("fcm: access token: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url, bytes.NewReader(body))
	if err != nil {
		return -1, domain.Wrap(domain.KindInvalid, err, "fcm: request")
	}
	req.Header.Set("Content-Type", "application/json; charset=UTF-8")
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	resp, err := p.cfg.Client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return -1, domain.Wrap(domain.KindUnavailable, err, "fcm: send")
		}
		return 0, err
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 == 2 {
		return 0, nil
	}
	var e apiError
	_ = json.Unmarshal(answer, &e)
	code := e.Error.Status
	for _, d := range e.Error.Details {
		if d.ErrorCode != "" {
			code = d.ErrorCode
		}
	}
	failed := fmt.Errorf("fcm: %d %s: %s", resp.StatusCode, code, e.Error.Message)
	switch {
	case code == "UNREGISTERED" || resp.StatusCode == http.StatusNotFound:
		return -1, domain.Wrap(domain.KindNotFound, failed, "fcm: token unregistered")
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
			return time.Duration(s) * time.Second, failed
		}
		return 0, failed
	default:
		return -1, domain.Wrap(domain.KindInvalid, failed, "fcm: refused")
	}
}
