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

func TestFriendshipEnds(t *testing.T) {
	s := newServer(t)
	type pair struct{ by, other domain.UserID }
	var got []pair
	record := func(_ context.Context, by, other domain.UserID) error {
		got = append(got, pair{by, other})
		return nil
	}
	s.svc.declineFriendRequest = record
	s.svc.cancelFriendRequest = record
	s.svc.unfriend = record
	body := `{"friendId":"` + string(bob) + `"}`
	cases := []struct {
		name string
		req  request
	}{
		{"decline", request{method: "POST", path: "/friends/decline-request", body: body}},
		{"cancel", request{method: "POST", path: "/friends/cancel-request", body: body}},
		{"unfriend", request{method: "DELETE", path: "/friends/" + string(bob)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got = nil
			req := tc.req
			req.token = goodToken
			w := s.do(t, req)
			require.Equal(t, http.StatusNoContent, w.Code, w.Body.String())
			assert.Empty(t, w.Body.String())
			assert.Equal(t, []pair{{alice, bob}}, got, "the caller comes from the token")

			got = nil
			requireError(t, s.do(t, tc.req), http.StatusUnauthorized, "unauthenticated")
			assert.Nil(t, got)
		})
	}

	t.Run("bad ids are refused before the service", func(t *testing.T) {
		got = nil
		for _, req := range []request{
			{method: "POST", path: "/friends/decline-request", body: `{"friendId":"bob"}`},
			{method: "POST", path: "/friends/cancel-request", body: `{"friendId":"` + string(alice) + `"}`},
			{method: "DELETE", path: "/friends/bob"},
			{method: "DELETE", path: "/friends/" + string(alice)},
		} {
			req.token = goodToken
			requireError(t, s.do(t, req), http.StatusBadRequest, "invalid")
		}
		assert.Nil(t, got)
	})

	t.Run("service errors keep their status", func(t *testing.T) {
		s.svc.unfriend = func(context.Context, domain.UserID, domain.UserID) error {
			return domain.Errorf(domain.KindNotFound, "not friends")
		}
		s.svc.declineFriendRequest = func(context.Context, domain.UserID, domain.UserID) error {
			return domain.Errorf(domain.KindForbidden, "blocked")
		}
		requireError(t, s.do(t, request{method: "DELETE", path: "/friends/" + string(bob), token: goodToken}), http.StatusNotFound, "not_found")
		requireError(t, s.do(t, request{method: "POST", path: "/friends/decline-request", token: goodToken, body: body}), http.StatusForbidden, "forbidden")
	})

	t.Run("the literal friend routes still win over the wildcard", func(t *testing.T) {
		w := s.do(t, request{method: "DELETE", path: "/friends/list", token: goodToken})
		assert.Equal(t, http.StatusMethodNotAllowed, w.Code)
		assert.Equal(t, "GET, HEAD, OPTIONS", w.Header().Get("Allow"))
		w = s.do(t, request{method: "GET", path: "/friends/" + string(bob), token: goodToken})
		assert.Equal(t, http.StatusMethodNotAllowed, w.Code)
		assert.Equal(t, "DELETE, OPTIONS", w.Header().Get("Allow"))
	})
}

func TestFriendsListCarriesPresence(t *testing.T) {
	s := newServer(t)
	seen := t0.Add(-time.Hour)
	s.svc.friendsPresence = func(_ context.Context, u domain.UserID) ([]domain.Friend, error) {
		require.Equal(t, alice, u)
		return []domain.Friend{{User: bobUser, Online: true, LastSeenAt: &t0}, {User: aliceUser, LastSeenAt: &seen}}, nil
	}
	w := s.do(t, request{method: "GET", path: "/friends/list", token: goodToken})
	require.Equal(t, http.StatusOK, w.Code)
	assert.JSONEq(t, `{"friends":[`+
		strings.TrimSuffix(bobJSON, "}")+`,"online":true,"lastSeenAt":`+t0JSON+`},`+
		strings.TrimSuffix(aliceJSON, "}")+`,"online":false,"lastSeenAt":"2026-03-01T11:00:00Z"}]}`, w.Body.String())
}
