package http_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
)

// attachmentFake is fakeService's part for attachments.
type attachmentFake struct {
	createAttachment func(ctx context.Context, caller domain.UserID, r domain.AttachmentRequest) (ports.AttachmentUpload, error)
	attachmentURL    func(ctx context.Context, caller domain.UserID, id domain.AttachmentID) (string, error)
}

func (f *attachmentFake) CreateAttachment(ctx context.Context, caller domain.UserID, r domain.AttachmentRequest) (ports.AttachmentUpload, error) {
	if f.createAttachment == nil {
		return ports.AttachmentUpload{}, errUnexpected
	}
	return f.createAttachment(ctx, caller, r)
}

func (f *attachmentFake) AttachmentURL(ctx context.Context, caller domain.UserID, id domain.AttachmentID) (string, error) {
	if f.attachmentURL == nil {
		return "", errUnexpected
	}
	return f.attachmentURL(ctx, caller, id)
}

const attachmentID domain.AttachmentID = "33333333-3333-4333-8333-333333333333"

func TestCreateAttachment(t *testing.T) {
	s := newServer(t)
	s.svc.createAttachment = func(_ context.Context, caller domain.UserID, r domain.AttachmentRequest) (ports.AttachmentUpload, error) {
		require.Equal(t, alice, caller)
		if r.Size > 100 {
			return ports.AttachmentUpload{}, domain.Errorf(domain.KindTooLarge, "too large")
		}
		assert.Equal(t, domain.AttachmentRequest{FileName: "cat.png", ContentType: "image/png", Size: 42}, r)
		return ports.AttachmentUpload{AttachmentID: attachmentID, UploadURL: "https://s3.example.com/up?sig=x", UploadMethod: "PUT",
			UploadHeaders: map[string]string{"Content-Type": "image/png"}, ExpiresAt: t0.Add(15 * time.Minute)}, nil
	}
	w := s.do(t, request{method: "POST", path: "/attachments", token: goodToken, body: `{"fileName":"cat.png","contentType":"image/png","size":42}`})
	require.Equal(t, http.StatusCreated, w.Code, w.Body.String())
	assert.JSONEq(t, `{"attachmentId":"33333333-3333-4333-8333-333333333333","uploadUrl":"https://s3.example.com/up?sig=x",
		"uploadMethod":"PUT","uploadHeaders":{"Content-Type":"image/png"},"expiresAt":"2026-03-01T12:15:00Z"}`, w.Body.String())

	requireError(t, s.do(t, request{method: "POST", path: "/attachments", token: goodToken, body: `{"fileName":"cat.png","contentType":"image/png","size":101}`}),
		http.StatusRequestEntityTooLarge, "too_large")
	requireError(t, s.do(t, request{method: "POST", path: "/attachments", token: goodToken, body: `{"size":"big"}`}), http.StatusBadRequest, "invalid")
	requireError(t, s.do(t, request{method: "POST", path: "/attachments", token: goodToken, body: `null`}), http.StatusBadRequest, "invalid")
	requireError(t, s.do(t, request{method: "POST", path: "/attachments", body: `{}`}), http.StatusUnauthorized, "unauthenticated")
}

func TestAttachmentRedirects(t *testing.T) {
	s := newServer(t)
	s.svc.attachmentURL = func(_ context.Context, caller domain.UserID, id domain.AttachmentID) (string, error) {
		require.Equal(t, alice, caller)
		if id != attachmentID {
			return "", domain.Errorf(domain.KindNotFound, "no such attachment")
		}
		return "https://s3.example.com/get?sig=y", nil
	}
	w := s.do(t, request{method: "GET", path: "/attachments/" + string(attachmentID), token: goodToken})
	require.Equal(t, http.StatusFound, w.Code, w.Body.String())
	assert.Equal(t, "https://s3.example.com/get?sig=y", w.Header().Get("Location"))
	assert.Equal(t, "no-store", w.Header().Get("Cache-Control"))

	requireError(t, s.do(t, request{method: "GET", path: "/attachments/" + domain.NewUUID(), token: goodToken}), http.StatusNotFound, "not_found")
	requireError(t, s.do(t, request{method: "GET", path: "/attachments/not-a-uuid", token: goodToken}), http.StatusNotFound, "not_found")
	requireError(t, s.do(t, request{method: "GET", path: "/attachments/" + string(attachmentID)}), http.StatusUnauthorized, "unauthenticated")
}
