package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/messenger-go/messenger/domain"
)

// Client calls one server as one user.
type Client struct {
	base  string
	http  *http.Client
	token string
}

// New returns a client of the server at baseURL (e.g. "http://127.0.0.1:3000").
// httpClient nil means a client with a 30 s timeout.
func New(baseURL string, httpClient *http.Client) *Client {
	if httpClient == nil {
		httpClient = &http.Client{Timeout: 30 * time.Second}
	}
	return &Client{base: strings.TrimRight(baseURL, "/"), http: httpClient}
}

// WithToken returns a copy of c that authenticates with the access token.
func (c *Client) WithToken(token string) *Client {
	cp := *c
	cp.token = token
	return &cp
}

// Token is the access token in use.
func (c *Client) Token() string { return c.token }

// BaseURL is the server's address.
func (c *Client) BaseURL() string { return c.base }

// Error is a non-2xx answer.
type Error struct {
	Status  int
	Code    string
	Message string
}

func (e *Error) Error() string {
	return fmt.Sprintf("HTTP %d %s: %s", e.Status, e.Code, e.Message)
}

// Do sends a request with a JSON body (nil for none) and decodes a JSON answer
// into out (nil to discard). It returns *Error for non-2xx answers.
func (c *Client) Do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	return c.DoRaw(ctx, method, path, rd, out)
}

// DoRaw is Do with a raw body, for sending malformed input on purpose.
func (c *Client) DoRaw(ctx context.Context, method, path string, body io.Reader, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		var e struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		_ = json.Unmarshal(data, &e)
		return &Error{Status: resp.StatusCode, Code: e.Error.Code, Message: e.Error.Message}
	}
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("decoding %s %s answer: %w", method, path, err)
		}
	}
	return nil
}

// Session is the answer of register and login.
type Session struct {
	User         domain.User `json:"user"`
	AccessToken  string      `json:"accessToken"`
	RefreshToken string      `json:"refreshToken"`
	ExpiresIn    int         `json:"expiresIn"`
}

// Register creates an account; the returned client is authenticated as it.
func (c *Client) Register(ctx context.Context, first, last, email, password string) (*Client, Session, error) {
	var s Session
	err := c.Do(ctx, "POST", "/auth/register", map[string]string{
		"firstName": first, "lastName": last, "email": email, "password": password,
	}, &s)
	return c.WithToken(s.AccessToken), s, err
}

// Login authenticates; the returned client is authenticated.
func (c *Client) Login(ctx context.Context, email, password string) (*Client, Session, error) {
	var s Session
	err := c.Do(ctx, "POST", "/auth/login", map[string]string{"email": email, "password": password}, &s)
	return c.WithToken(s.AccessToken), s, err
}

// Refresh rotates a refresh token.
func (c *Client) Refresh(ctx context.Context, refreshToken string) (Session, error) {
	var s Session
	err := c.Do(ctx, "POST", "/auth/refresh", map[string]string{"refreshToken": refreshToken}, &s)
	return s, err
}

// Logout revokes a refresh token.
func (c *Client) Logout(ctx context.Context, refreshToken string) error {
	return c.Do(ctx, "POST", "/auth/logout", map[string]string{"refreshToken": refreshToken}, nil)
}

// SendFriendRequest asks friendID to be friends.
func (c *Client) SendFriendRequest(ctx context.Context, friendID domain.UserID) (domain.Friendship, error) {
	var out struct{ Friendship domain.Friendship }
	err := c.Do(ctx, "POST", "/friends/send-request", map[string]any{"friendId": friendID}, &out)
	return out.Friendship, err
}

// AcceptFriendRequest accepts requester's request.
func (c *Client) AcceptFriendRequest(ctx context.Context, requester domain.UserID) (domain.Friendship, error) {
	var out struct{ Friendship domain.Friendship }
	err := c.Do(ctx, "POST", "/friends/accept-request", map[string]any{"friendId": requester}, &out)
	return out.Friendship, err
}

// PendingRequests lists incoming requests.
func (c *Client) PendingRequests(ctx context.Context) ([]domain.FriendRequest, error) {
	var out struct{ Requests []domain.FriendRequest }
	err := c.Do(ctx, "GET", "/friends/pending-requests", nil, &out)
	return out.Requests, err
}

// Friends lists friends.
func (c *Client) Friends(ctx context.Context) ([]domain.User, error) {
	var out struct{ Friends []domain.User }
	err := c.Do(ctx, "GET", "/friends/list", nil, &out)
	return out.Friends, err
}

// Search finds users by name or email prefix.
func (c *Client) Search(ctx context.Context, q string) ([]domain.User, error) {
	var out struct{ Users []domain.User }
	err := c.Do(ctx, "GET", "/friends/search?q="+url.QueryEscape(q), nil, &out)
	return out.Users, err
}

// SendRequest is the body of POST /messages/send.
type SendRequest struct {
	ReceiverID      domain.UserID   `json:"receiverId"`
	Message         string          `json:"message"`
	MessageType     string          `json:"messageType,omitempty"`
	Metadata        json.RawMessage `json:"metadata,omitempty"`
	ClientMessageID string          `json:"clientMessageId,omitempty"`
}

// SendReceipt is the 202 answer of a send.
type SendReceipt struct {
	MessageID       domain.MessageID      `json:"messageId"`
	ClientMessageID string                `json:"clientMessageId"`
	ConversationID  domain.ConversationID `json:"conversationId"`
	Status          string                `json:"status"`
}

// Send sends a message.
func (c *Client) Send(ctx context.Context, r SendRequest) (SendReceipt, error) {
	var out SendReceipt
	err := c.Do(ctx, "POST", "/messages/send", r, &out)
	return out, err
}

// History reads a page of a conversation (id: conversation id or peer id).
// A page with HasAfter set, or a positive After, sends its after cursor, 0
// included.
func (c *Client) History(ctx context.Context, id string, page domain.Page) ([]domain.Message, bool, error) {
	q := url.Values{}
	if page.Before > 0 {
		q.Set("before", strconv.FormatInt(int64(page.Before), 10))
	}
	if page.HasAfter || page.After > 0 {
		q.Set("after", strconv.FormatInt(int64(page.After), 10))
	}
	if page.Limit > 0 {
		q.Set("limit", strconv.Itoa(page.Limit))
	}
	path := "/messages/history/" + url.PathEscape(id)
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var out struct {
		Messages []domain.Message `json:"messages"`
		HasMore  bool             `json:"hasMore"`
	}
	err := c.Do(ctx, "GET", path, nil, &out)
	return out.Messages, out.HasMore, err
}

// MarkRead marks a conversation read up to a sequence.
func (c *Client) MarkRead(ctx context.Context, conv domain.ConversationID, upTo domain.Sequence) error {
	return c.Do(ctx, "POST", "/messages/mark-read", map[string]any{"conversationId": conv, "upToSequenceId": upTo}, nil)
}

// UnreadCount reads the unread counts.
func (c *Client) UnreadCount(ctx context.Context) (domain.UnreadCounts, error) {
	var out domain.UnreadCounts
	err := c.Do(ctx, "GET", "/messages/unread-count", nil, &out)
	return out, err
}

// Conversations lists conversations, newest first.
func (c *Client) Conversations(ctx context.Context) ([]domain.ConversationSummary, error) {
	var out struct{ Conversations []domain.ConversationSummary }
	err := c.Do(ctx, "GET", "/messages/conversations", nil, &out)
	return out.Conversations, err
}
