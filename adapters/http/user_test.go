package http_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/domain"
)

func TestMe(t *testing.T) {
	s := newServer(t)
	s.svc.me = func(_ context.Context, u domain.UserID) (domain.User, error) {
		require.Equal(t, alice, u)
		return aliceUser, nil
	}
	var update domain.ProfileUpdate
	s.svc.updateMe = func(_ context.Context, u domain.UserID, p domain.ProfileUpdate) (domain.User, error) {
		update = p
		return p.Apply(aliceUser)
	}

	w := s.do(t, request{method: "GET", path: "/users/me", token: goodToken})
	require.Equal(t, http.StatusOK, w.Code)
	assert.JSONEq(t, `{"user":`+aliceJSON+`}`, w.Body.String(), "no password hash")

	w = s.do(t, request{method: "PATCH", path: "/users/me", token: goodToken, body: `{"lastName":"  Carroll "}`})
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	assert.Nil(t, update.FirstName, "an absent field is left as it is")
	require.NotNil(t, update.LastName)
	assert.Contains(t, w.Body.String(), `"lastName":"Carroll"`)

	requireError(t, s.do(t, request{method: "PATCH", path: "/users/me", token: goodToken, body: `{"firstName":""}`}), http.StatusBadRequest, "invalid")
	requireError(t, s.do(t, request{method: "PATCH", path: "/users/me", token: goodToken, body: `null`}), http.StatusBadRequest, "invalid")
	requireError(t, s.do(t, request{method: "PATCH", path: "/users/me", token: goodToken, body: `{"firstName":7}`}), http.StatusBadRequest, "invalid")
	requireError(t, s.do(t, request{method: "GET", path: "/users/me"}), http.StatusUnauthorized, "unauthenticated")
}

func TestCredentialsRevocation(t *testing.T) {
	s := newServer(t)
	var calls []string
	s.svc.changePassword = func(_ context.Context, u domain.UserID, current, next string) error {
		calls = append(calls, "change "+string(u)+" "+current+" "+next)
		if current == "wrong" {
			return domain.Errorf(domain.KindForbidden, "wrong password")
		}
		return nil
	}
	s.svc.logoutAll = func(_ context.Context, u domain.UserID) error {
		calls = append(calls, "all "+string(u))
		return nil
	}
	w := s.do(t, request{method: "POST", path: "/auth/change-password", token: goodToken, body: `{"currentPassword":"old one","newPassword":"new one!"}`})
	require.Equal(t, http.StatusNoContent, w.Code, w.Body.String())
	w = s.do(t, request{method: "POST", path: "/auth/logout-all", token: goodToken})
	require.Equal(t, http.StatusNoContent, w.Code, w.Body.String())
	assert.Equal(t, []string{"change " + string(alice) + " old one new one!", "all " + string(alice)}, calls)

	requireError(t, s.do(t, request{method: "POST", path: "/auth/change-password", token: goodToken, body: `{"currentPassword":"wrong","newPassword":"new one!"}`}), http.StatusForbidden, "forbidden")
	calls = nil
	for _, body := range []string{`{}`, `{"currentPassword":"x"}`, `{"newPassword":"x"}`, `[]`} {
		requireError(t, s.do(t, request{method: "POST", path: "/auth/change-password", token: goodToken, body: body}), http.StatusBadRequest, "invalid")
	}
	requireError(t, s.do(t, request{method: "POST", path: "/auth/logout-all"}), http.StatusUnauthorized, "unauthenticated")
	assert.Nil(t, calls, "nothing reaches the service")
}

func TestDeleteAndExportAccount(t *testing.T) {
	s := newServer(t)
	var deleted []string
	s.svc.deleteAccount = func(_ context.Context, u domain.UserID, password string) error {
		deleted = append(deleted, string(u)+" "+password)
		return nil
	}
	s.svc.exportAccount = func(_ context.Context, u domain.UserID) (domain.AccountExport, error) {
		return domain.AccountExport{ExportedAt: t0, User: aliceUser, Friendships: []domain.Friendship{friendship(domain.FriendAccepted)},
			Messages: []domain.Message{message(1, alice, bob)}}, nil
	}
	w := s.do(t, request{method: "GET", path: "/users/me/export", token: goodToken})
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	assert.Contains(t, w.Header().Get("Content-Disposition"), "attachment")
	assert.JSONEq(t, `{"exportedAt":`+t0JSON+`,"user":`+aliceJSON+`,"friendships":[`+
		friendshipJSON("accepted")[len(`{"friendship":`):len(friendshipJSON("accepted"))-1]+`],"messages":[`+messageJSON("1")+`]}`, w.Body.String())

	w = s.do(t, request{method: "DELETE", path: "/users/me", token: goodToken, body: `{"password":"correct horse"}`})
	require.Equal(t, http.StatusNoContent, w.Code, w.Body.String())
	assert.Equal(t, []string{string(alice) + " correct horse"}, deleted)
	requireError(t, s.do(t, request{method: "DELETE", path: "/users/me", token: goodToken, body: `{}`}), http.StatusBadRequest, "invalid")
	requireError(t, s.do(t, request{method: "DELETE", path: "/users/me", token: goodToken}), http.StatusBadRequest, "invalid")
	requireError(t, s.do(t, request{method: "DELETE", path: "/users/me", body: `{"password":"x"}`}), http.StatusUnauthorized, "unauthenticated")
	assert.Len(t, deleted, 1)
}
