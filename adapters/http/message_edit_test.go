package http_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/domain"
)

func TestEditMessage(t *testing.T) {
	s := newServer(t)
	id := domain.DeriveMessageID(alice, "c")
	var got []domain.Edit
	s.svc.editMessage = func(_ context.Context, caller domain.UserID, mid domain.MessageID, e domain.Edit) (domain.Message, error) {
		require.Equal(t, alice, caller)
		require.Equal(t, id, mid)
		got = append(got, e)
		m := message(1, alice, bob)
		edited := t0.Add(time.Minute)
		m.Text, m.Version, m.EditedAt = e.Text, 2, &edited
		return m, nil
	}
	path := "/messages/" + string(id)
	w := s.do(t, request{method: "PATCH", path: path, token: goodToken, body: `{"message":"hello again"}`})
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	want := strings.Replace(messageJSON("1"), `"message":"hello"`, `"message":"hello again"`, 1)
	want = strings.TrimSuffix(want, "}") + `,"editedAt":"2026-03-01T12:01:00Z","version":2}`
	assert.JSONEq(t, `{"message":`+want+`}`, w.Body.String())

	w = s.do(t, request{method: "PATCH", path: path, token: goodToken, body: `{"message":"x","metadata":null}`})
	require.Equal(t, http.StatusOK, w.Code)
	w = s.do(t, request{method: "PATCH", path: path, token: goodToken, body: `{"message":"x","metadata":{"k":1}}`})
	require.Equal(t, http.StatusOK, w.Code)
	require.Len(t, got, 3)
	assert.False(t, got[0].SetMetadata, "absent metadata is kept")
	assert.True(t, got[1].SetMetadata, "null removes it")
	assert.True(t, got[2].SetMetadata)
	assert.JSONEq(t, `{"k":1}`, string(got[2].Metadata))

	got = nil
	for name, req := range map[string]request{
		"no message":    {method: "PATCH", path: path, body: `{"metadata":{}}`},
		"not an object": {method: "PATCH", path: path, body: `"hi"`},
		"message null":  {method: "PATCH", path: path, body: `{"message":null}`},
		"bad id":        {method: "PATCH", path: "/messages/nope", body: `{"message":"x"}`},
	} {
		req.token = goodToken
		requireError(t, s.do(t, req), http.StatusBadRequest, "invalid")
		assert.Nil(t, got, name)
	}
	requireError(t, s.do(t, request{method: "PATCH", path: path, body: `{"message":"x"}`}), http.StatusUnauthorized, "unauthenticated")

	for kind, status := range map[domain.Kind]int{
		domain.KindForbidden: http.StatusForbidden, domain.KindNotFound: http.StatusNotFound,
		domain.KindConflict: http.StatusConflict, domain.KindTooLarge: http.StatusRequestEntityTooLarge,
	} {
		s.svc.editMessage = func(context.Context, domain.UserID, domain.MessageID, domain.Edit) (domain.Message, error) {
			return domain.Message{}, domain.Errorf(kind, "no")
		}
		w := s.do(t, request{method: "PATCH", path: path, token: goodToken, body: `{"message":"x"}`})
		assert.Equal(t, status, w.Code, kind.String())
	}
}

func TestDeleteMessage(t *testing.T) {
	s := newServer(t)
	id := domain.DeriveMessageID(alice, "c")
	var deleted []domain.MessageID
	s.svc.deleteMessage = func(_ context.Context, caller domain.UserID, mid domain.MessageID) error {
		require.Equal(t, alice, caller)
		deleted = append(deleted, mid)
		return nil
	}
	w := s.do(t, request{method: "DELETE", path: "/messages/" + string(id), token: goodToken})
	require.Equal(t, http.StatusNoContent, w.Code, w.Body.String())
	assert.Equal(t, []domain.MessageID{id}, deleted)
	requireError(t, s.do(t, request{method: "DELETE", path: "/messages/nope", token: goodToken}), http.StatusBadRequest, "invalid")
	requireError(t, s.do(t, request{method: "DELETE", path: "/messages/" + string(id)}), http.StatusUnauthorized, "unauthenticated")
	w = s.do(t, request{method: "DELETE", path: "/messages/send", token: goodToken})
	assert.Equal(t, http.StatusMethodNotAllowed, w.Code, "a literal route keeps its methods")
	assert.Len(t, deleted, 1)
}
