package http_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	api "github.com/messenger-go/messenger/adapters/http"
	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
	"github.com/messenger-go/messenger/wire"
)

func TestNewHandlerValidates(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  api.Config
	}{
		{"no service", api.Config{}},
		{"origin without scheme", api.Config{Service: &fakeService{}, AllowedOrigins: []string{"example.com"}}},
		{"origin with path", api.Config{Service: &fakeService{}, AllowedOrigins: []string{"https://example.com/"}}},
		{"nameless check", api.Config{Service: &fakeService{}, Checks: []ports.HealthCheck{{Check: func(context.Context) error { return nil }}}}},
		{"check without function", api.Config{Service: &fakeService{}, Checks: []ports.HealthCheck{{Name: "db"}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := api.NewHandler(tc.cfg)
			require.Error(t, err)
			assert.Equal(t, domain.KindInvalid, domain.KindOf(err))
		})
	}
}

func TestAuthorizationHeader(t *testing.T) {
	s := newServer(t)
	s.svc.friends = func(context.Context, domain.UserID) ([]domain.User, error) { return nil, nil }
	cases := []struct {
		name   string
		header string
		status int
	}{
		{"missing", "", 401},
		{"basic scheme", "Basic YWxpY2U6cHc=", 401},
		{"bearer without token", "Bearer", 401},
		{"bearer with blank token", "Bearer    ", 401},
		{"token with spaces", "Bearer alice token", 401},
		{"garbage token", "Bearer garbage", 401},
		{"raw token without scheme", goodToken, 401},
		{"good", "Bearer " + goodToken, 200},
		{"lower-case scheme", "bearer " + goodToken, 200},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			hdr := http.Header{}
			if tc.header != "" {
				hdr.Set("Authorization", tc.header)
			}
			w := s.do(t, request{method: "GET", path: "/friends/list", header: hdr})
			if tc.status == 200 {
				require.Equal(t, 200, w.Code, w.Body.String())
				return
			}
			requireError(t, w, tc.status, "unauthenticated")
			assert.Equal(t, "Bearer", w.Header().Get("WWW-Authenticate"))
		})
	}

	t.Run("verifier down", func(t *testing.T) {
		s := newServer(t)
		s.svc.authenticate = func(context.Context, string) (domain.UserID, error) {
			return "", domain.Wrap(domain.KindUnavailable, errors.New("dial tcp: refused"), "token store unavailable")
		}
		w := s.do(t, request{method: "GET", path: "/friends/list", token: "whatever"})
		requireError(t, w, http.StatusServiceUnavailable, "unavailable")
		assert.NotContains(t, w.Body.String(), "refused")
	})
}

// TestErrorsAnswerByKind: every error is answered from wire's one table
// (tested there, kind by kind); the API adds the logs: internal causes at
// Error level, and never in the body.
func TestErrorsAnswerByKind(t *testing.T) {
	cause := errors.New("pq: password authentication failed for user secret_admin")
	cases := []struct {
		name    string
		err     error
		status  int
		code    string
		message string
		logged  bool // the cause is in the log
	}{
		{"invalid", domain.Errorf(domain.KindInvalid, "bad input"), 400, "invalid", "bad input", false},
		{"wrapped kind", errors.Join(errors.New("ctx"), domain.Errorf(domain.KindConflict, "taken")), 409, "conflict", "taken", false},
		{"unavailable", domain.Wrap(domain.KindUnavailable, cause, "database unavailable"), 503, "unavailable", "database unavailable", true},
		{"internal", domain.Wrap(domain.KindInternal, cause, "query failed"), 500, "internal", "internal error", true},
		{"plain error", cause, 500, "internal", "internal error", true},
		{"unknown kind", &domain.Error{Kind: domain.Kind(200), Message: "odd"}, 500, "internal", "internal error", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newServer(t)
			s.svc.friends = func(context.Context, domain.UserID) ([]domain.User, error) { return nil, tc.err }
			w := s.do(t, request{method: "GET", path: "/friends/list", token: goodToken})
			assert.Equal(t, tc.message, requireError(t, w, tc.status, tc.code))
			assert.Equal(t, wire.Status(domain.KindOf(tc.err)), tc.status)
			assert.NotContains(t, w.Body.String(), "secret_admin", "causes never reach the client")
			assert.Equal(t, tc.logged, strings.Contains(s.log.String(), "secret_admin"), "causes of 5xx are logged")
		})
	}
}

func TestPanicRecovery(t *testing.T) {
	s := newServer(t)
	s.svc.friends = func(context.Context, domain.UserID) ([]domain.User, error) { panic("kaboom") }
	w := s.do(t, request{method: "GET", path: "/friends/list", token: goodToken})
	assert.Equal(t, "internal error", requireError(t, w, 500, "internal"))
	assert.Contains(t, s.log.String(), "kaboom")
	assert.Contains(t, s.log.String(), "status=500")

	// The handler keeps serving.
	s.svc.friends = func(context.Context, domain.UserID) ([]domain.User, error) { return nil, nil }
	assert.Equal(t, 200, s.do(t, request{method: "GET", path: "/friends/list", token: goodToken}).Code)
}

func TestRequestLog(t *testing.T) {
	s := newServer(t)
	s.svc.friends = func(context.Context, domain.UserID) ([]domain.User, error) { return nil, nil }
	require.Equal(t, 200, s.do(t, request{method: "GET", path: "/friends/list", token: goodToken}).Code)
	line := s.log.String()
	assert.Contains(t, line, `msg="http request"`)
	assert.Contains(t, line, `method=GET`)
	assert.Contains(t, line, `pattern="GET /friends/list"`)
	assert.Contains(t, line, `status=200`)
	assert.Contains(t, line, `duration=`)
	assert.Contains(t, line, `level=INFO`)

	require.Equal(t, 200, s.do(t, request{method: "GET", path: "/healthz"}).Code)
	assert.Contains(t, s.log.String(), `level=DEBUG msg="http request" method=GET pattern="GET /healthz"`)
}

func TestUnknownRoutesAndMethods(t *testing.T) {
	s := newServer(t)
	requireError(t, s.do(t, request{method: "GET", path: "/nope"}), 404, "not_found")
	requireError(t, s.do(t, request{method: "GET", path: "/metrics"}), 404, "not_found")

	w := s.do(t, request{method: "DELETE", path: "/messages/send", token: goodToken})
	requireError(t, w, http.StatusMethodNotAllowed, "method_not_allowed")
	assert.Equal(t, "POST, OPTIONS", w.Header().Get("Allow"))

	w = s.do(t, request{method: "POST", path: "/friends/list", token: goodToken, body: `{}`})
	requireError(t, w, http.StatusMethodNotAllowed, "method_not_allowed")
	assert.Equal(t, "GET, HEAD, OPTIONS", w.Header().Get("Allow"))

	w = s.do(t, request{method: "OPTIONS", path: "/messages/history/" + string(bob)})
	assert.Equal(t, http.StatusNoContent, w.Code)
	assert.Equal(t, "GET, HEAD, OPTIONS", w.Header().Get("Allow"))
	assert.Zero(t, s.svc.count("Authenticate"))
}

func TestBodyLimit(t *testing.T) {
	s := newServer(t, func(c *api.Config) { c.MaxBodyBytes = 100 })
	s.svc.sendFriendRequest = func(context.Context, domain.UserID, domain.UserID) (domain.Friendship, error) {
		return friendship(domain.FriendPending), nil
	}
	body := `{"friendId":"` + string(bob) + `"}`
	require.Equal(t, http.StatusCreated, s.do(t, request{method: "POST", path: "/friends/send-request", token: goodToken, body: body}).Code)

	padded := `{"friendId":"` + string(bob) + `","pad":"` + strings.Repeat("x", 100) + `"}`
	requireError(t, s.do(t, request{method: "POST", path: "/friends/send-request", token: goodToken, body: padded}), 413, "too_large")

	// Trailing data past the limit is also refused as too large.
	trailing := body + strings.Repeat(" ", 100) + "x"
	requireError(t, s.do(t, request{method: "POST", path: "/friends/send-request", token: goodToken, body: trailing}), 413, "too_large")
	assert.Equal(t, 1, s.svc.count("SendFriendRequest"))
}

func TestCORS(t *testing.T) {
	preflight := func(origin, method, headers string) request {
		h := http.Header{"Origin": {origin}, "Access-Control-Request-Method": {method}}
		if headers != "" {
			h.Set("Access-Control-Request-Headers", headers)
		}
		return request{method: "OPTIONS", path: "/messages/send", header: h}
	}

	t.Run("listed origin", func(t *testing.T) {
		s := newServer(t, func(c *api.Config) { c.AllowedOrigins = []string{"https://app.example.com"} })
		w := s.do(t, preflight("https://app.example.com", "POST", "authorization, content-type"))
		require.Equal(t, http.StatusNoContent, w.Code, w.Body.String())
		assert.Equal(t, "https://app.example.com", w.Header().Get("Access-Control-Allow-Origin"))
		assert.Equal(t, "POST, OPTIONS", w.Header().Get("Access-Control-Allow-Methods"))
		assert.Equal(t, "Authorization, Content-Type", w.Header().Get("Access-Control-Allow-Headers"))
		assert.Equal(t, "600", w.Header().Get("Access-Control-Max-Age"))
		assert.Contains(t, w.Header().Values("Vary"), "Origin")
		assert.Empty(t, w.Header().Get("Access-Control-Allow-Credentials"))

		requireError(t, s.do(t, preflight("https://evil.example.com", "POST", "")), http.StatusForbidden, "forbidden")
		requireError(t, s.do(t, preflight("https://app.example.com", "DELETE", "")), http.StatusForbidden, "forbidden")
		requireError(t, s.do(t, preflight("https://app.example.com", "POST", "x-secret")), http.StatusForbidden, "forbidden")

		s.svc.friends = func(context.Context, domain.UserID) ([]domain.User, error) { return nil, nil }
		w = s.do(t, request{method: "GET", path: "/friends/list", token: goodToken, header: http.Header{"Origin": {"https://app.example.com"}}})
		require.Equal(t, 200, w.Code)
		assert.Equal(t, "https://app.example.com", w.Header().Get("Access-Control-Allow-Origin"))
		assert.Equal(t, "Retry-After", w.Header().Get("Access-Control-Expose-Headers"))

		w = s.do(t, request{method: "GET", path: "/friends/list", token: goodToken, header: http.Header{"Origin": {"https://evil.example.com"}}})
		require.Equal(t, 200, w.Code, "CORS is the browser's check; the server still answers")
		assert.Empty(t, w.Header().Get("Access-Control-Allow-Origin"))

		// Errors carry the CORS headers too, so browsers can read them.
		w = s.do(t, request{method: "GET", path: "/friends/list", header: http.Header{"Origin": {"https://app.example.com"}}})
		requireError(t, w, 401, "unauthenticated")
		assert.Equal(t, "https://app.example.com", w.Header().Get("Access-Control-Allow-Origin"))
	})
	t.Run("any origin", func(t *testing.T) {
		s := newServer(t, func(c *api.Config) { c.AllowedOrigins = []string{"*"} })
		w := s.do(t, preflight("https://whoever.example", "POST", "content-type"))
		require.Equal(t, http.StatusNoContent, w.Code)
		assert.Equal(t, "*", w.Header().Get("Access-Control-Allow-Origin"))
	})
	t.Run("none configured", func(t *testing.T) {
		s := newServer(t)
		requireError(t, s.do(t, preflight("https://app.example.com", "POST", "")), http.StatusForbidden, "forbidden")
		s.svc.friends = func(context.Context, domain.UserID) ([]domain.User, error) { return nil, nil }
		w := s.do(t, request{method: "GET", path: "/friends/list", token: goodToken, header: http.Header{"Origin": {"https://app.example.com"}}})
		require.Equal(t, 200, w.Code)
		assert.Empty(t, w.Header().Get("Access-Control-Allow-Origin"))
	})
}

func TestRoutesOnForeignMux(t *testing.T) {
	s := newServer(t)
	s.svc.friends = func(context.Context, domain.UserID) ([]domain.User, error) { return []domain.User{bobUser}, nil }
	mux := http.NewServeMux()
	mux.HandleFunc("GET /own", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) })
	s.h.Routes(mux)

	srv := httptest.NewServer(mux)
	defer srv.Close()
	req, err := http.NewRequest("GET", srv.URL+"/friends/list", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+goodToken)
	res, err := srv.Client().Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	assert.Equal(t, http.StatusOK, res.StatusCode)

	own, err := srv.Client().Get(srv.URL + "/own")
	require.NoError(t, err)
	own.Body.Close()
	assert.Equal(t, http.StatusTeapot, own.StatusCode, "the embedder's routes are untouched")
}
