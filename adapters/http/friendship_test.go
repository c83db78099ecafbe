package http_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/domain"
)

const t0JSON = `"2026-03-01T12:00:00Z"`

func friendship(status domain.FriendshipStatus) domain.Friendship {
	return domain.Friendship{UserID: alice, FriendID: bob, Status: status, BlockedBy: alice, CreatedAt: t0, UpdatedAt: t0}
}

func friendshipJSON(status string) string {
	return `{"friendship":{"userId":"` + string(alice) + `","friendId":"` + string(bob) + `","status":"` + status + `","createdAt":` + t0JSON + `,"updatedAt":` + t0JSON + `}}`
}

func TestFriendshipChanges(t *testing.T) {
	s := newServer(t)
	type pair struct{ by, other domain.UserID }
	var got []pair
	s.svc.sendFriendRequest = func(_ context.Context, from, to domain.UserID) (domain.Friendship, error) {
		got = append(got, pair{from, to})
		return friendship(domain.FriendPending), nil
	}
	s.svc.acceptFriendRequest = func(_ context.Context, by, requester domain.UserID) (domain.Friendship, error) {
		got = append(got, pair{by, requester})
		return friendship(domain.FriendAccepted), nil
	}
	s.svc.block = func(_ context.Context, by, other domain.UserID) (domain.Friendship, error) {
		got = append(got, pair{by, other})
		return friendship(domain.FriendBlocked), nil
	}
	s.svc.unblock = func(_ context.Context, by, other domain.UserID) error {
		got = append(got, pair{by, other})
		return nil
	}
	body := `{"friendId":"` + string(bob) + `"}`
	cases := []struct {
		path   string
		status int
		want   string
	}{
		{"/friends/send-request", http.StatusCreated, friendshipJSON("pending")},
		{"/friends/accept-request", http.StatusOK, friendshipJSON("accepted")},
		{"/friends/block", http.StatusOK, friendshipJSON("blocked")},
		{"/friends/unblock", http.StatusNoContent, ""},
	}
	for _, tc := range cases {
		t.Run(tc.path, func(t *testing.T) {
			got = nil
			w := s.do(t, request{method: "POST", path: tc.path, token: goodToken, body: body})
			require.Equal(t, tc.status, w.Code, w.Body.String())
			if tc.want == "" {
				assert.Empty(t, w.Body.String())
			} else {
				assert.JSONEq(t, tc.want, w.Body.String())
			}
			assert.Equal(t, []pair{{alice, bob}}, got, "the caller comes from the token, the other user from the body")

			got = nil
			for name, bad := range map[string]string{
				"not a uuid":  `{"friendId":"bob"}`,
				"missing":     `{}`,
				"number":      `{"friendId":42}`,
				"self":        `{"friendId":"` + string(alice) + `"}`,
				"invalid":     `{"friendId":`,
				"trailing":    body + `x`,
				"two objects": body + body,
				"array":       `[` + body + `]`,
			} {
				w := s.do(t, request{method: "POST", path: tc.path, token: goodToken, body: bad})
				requireError(t, w, http.StatusBadRequest, "invalid")
				assert.Nil(t, got, name)
			}
			requireError(t, s.do(t, request{method: "POST", path: tc.path, body: body}), http.StatusUnauthorized, "unauthenticated")
			assert.Nil(t, got)
		})
	}
}

func TestFriendshipServiceErrors(t *testing.T) {
	s := newServer(t)
	s.svc.sendFriendRequest = func(context.Context, domain.UserID, domain.UserID) (domain.Friendship, error) {
		return domain.Friendship{}, domain.Errorf(domain.KindForbidden, "blocked")
	}
	s.svc.acceptFriendRequest = func(context.Context, domain.UserID, domain.UserID) (domain.Friendship, error) {
		return domain.Friendship{}, domain.Errorf(domain.KindNotFound, "no pending friend request from this user")
	}
	s.svc.unblock = func(context.Context, domain.UserID, domain.UserID) error {
		return domain.Errorf(domain.KindNotFound, "no block to lift")
	}
	body := `{"friendId":"` + string(bob) + `"}`
	assert.Equal(t, "blocked", requireError(t, s.do(t, request{method: "POST", path: "/friends/send-request", token: goodToken, body: body}), http.StatusForbidden, "forbidden"))
	requireError(t, s.do(t, request{method: "POST", path: "/friends/accept-request", token: goodToken, body: body}), http.StatusNotFound, "not_found")
	requireError(t, s.do(t, request{method: "POST", path: "/friends/unblock", token: goodToken, body: body}), http.StatusNotFound, "not_found")
}

func TestFriendLists(t *testing.T) {
	s := newServer(t)
	var requests []domain.FriendRequest
	var users []domain.User
	var query string
	s.svc.pendingRequests = func(_ context.Context, u domain.UserID) ([]domain.FriendRequest, error) {
		if u != alice {
			return nil, domain.Errorf(domain.KindInternal, "wrong caller")
		}
		return requests, nil
	}
	s.svc.friends = func(_ context.Context, u domain.UserID) ([]domain.User, error) {
		if u != alice {
			return nil, domain.Errorf(domain.KindInternal, "wrong caller")
		}
		return users, nil
	}
	s.svc.searchUsers = func(_ context.Context, u domain.UserID, q string) ([]domain.User, error) {
		if u != alice {
			return nil, domain.Errorf(domain.KindInternal, "wrong caller")
		}
		query = q
		return users, nil
	}

	t.Run("empty lists are []", func(t *testing.T) {
		requests, users = nil, nil
		for path, want := range map[string]string{
			"/friends/pending-requests": `{"requests":[]}`,
			"/friends/list":             `{"friends":[]}`,
			"/friends/search?q=zed":     `{"users":[]}`,
		} {
			w := s.do(t, request{method: "GET", path: path, token: goodToken})
			require.Equal(t, http.StatusOK, w.Code, path)
			assert.JSONEq(t, want, w.Body.String(), path)
		}
	})
	t.Run("filled", func(t *testing.T) {
		requests = []domain.FriendRequest{{User: bobUser, CreatedAt: t0}}
		users = []domain.User{bobUser}
		w := s.do(t, request{method: "GET", path: "/friends/pending-requests", token: goodToken})
		require.Equal(t, http.StatusOK, w.Code)
		assert.JSONEq(t, `{"requests":[{"user":`+bobJSON+`,"createdAt":`+t0JSON+`}]}`, w.Body.String())

		w = s.do(t, request{method: "GET", path: "/friends/list", token: goodToken})
		require.Equal(t, http.StatusOK, w.Code)
		assert.JSONEq(t, `{"friends":[`+strings.TrimSuffix(bobJSON, "}")+`,"online":false,"lastSeenAt":null}]}`, w.Body.String(),
			"a friend is a user with presence")

		w = s.do(t, request{method: "GET", path: "/friends/search?q=B%C3%B6b%20b", token: goodToken})
		require.Equal(t, http.StatusOK, w.Code)
		assert.JSONEq(t, `{"users":[`+bobJSON+`]}`, w.Body.String())
		assert.Equal(t, "Böb b", query)
	})
	t.Run("bad search", func(t *testing.T) {
		query = "untouched"
		requireError(t, s.do(t, request{method: "GET", path: "/friends/search?q=a%00b", token: goodToken}), http.StatusBadRequest, "invalid")
		requireError(t, s.do(t, request{method: "GET", path: "/friends/search?q=%ff", token: goodToken}), http.StatusBadRequest, "invalid")
		long := make([]byte, 300)
		for i := range long {
			long[i] = 'a'
		}
		requireError(t, s.do(t, request{method: "GET", path: "/friends/search?q=" + string(long), token: goodToken}), http.StatusRequestEntityTooLarge, "too_large")
		assert.Equal(t, "untouched", query)
	})
	t.Run("unauthenticated", func(t *testing.T) {
		for _, path := range []string{"/friends/pending-requests", "/friends/list", "/friends/search?q=b"} {
			requireError(t, s.do(t, request{method: "GET", path: path}), http.StatusUnauthorized, "unauthenticated")
		}
	})
}
