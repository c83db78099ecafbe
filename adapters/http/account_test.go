package http_test

import (
	"context"
	"net/http"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	api "github.com/messenger-go/messenger/adapters/http"
	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
)

var aliceSession = ports.Session{
	User:   aliceUser,
	Tokens: ports.Tokens{AccessToken: "access-1", RefreshToken: "refresh-1", ExpiresIn: 15 * time.Minute},
}

const aliceSessionJSON = `{"user":` + aliceJSON + `,"accessToken":"access-1","refreshToken":"refresh-1","expiresIn":900}`

func TestRegister(t *testing.T) {
	s := newServer(t)
	var got domain.Registration
	s.svc.register = func(_ context.Context, r domain.Registration, _ netip.Addr) (ports.Session, error) {
		got = r
		return aliceSession, nil
	}
	w := s.do(t, request{method: "POST", path: "/auth/register",
		body: `{"firstName":"Alice","lastName":"Liddell","email":"alice@example.com","password":"wonderland","inviteCode":"ignored"}`})
	require.Equal(t, http.StatusCreated, w.Code, w.Body.String())
	assert.JSONEq(t, aliceSessionJSON, w.Body.String())
	assert.NotContains(t, w.Body.String(), "secret-hash")
	assert.Equal(t, "no-store", w.Header().Get("Cache-Control"))
	assert.Equal(t, domain.Registration{FirstName: "Alice", LastName: "Liddell", Email: "alice@example.com", Password: "wonderland"}, got)

	s.svc.register = func(context.Context, domain.Registration, netip.Addr) (ports.Session, error) {
		return ports.Session{}, domain.Errorf(domain.KindConflict, "email already registered")
	}
	w = s.do(t, request{method: "POST", path: "/auth/register", body: `{"firstName":"A","lastName":"L","email":"alice@example.com","password":"wonderland"}`})
	assert.Equal(t, "email already registered", requireError(t, w, http.StatusConflict, "conflict"))
}

func TestLogin(t *testing.T) {
	s := newServer(t)
	s.svc.login = func(_ context.Context, email, password string, _ netip.Addr) (ports.Session, error) {
		if email == "alice@example.com" && password == "wonderland" {
			return aliceSession, nil
		}
		return ports.Session{}, domain.Errorf(domain.KindUnauthenticated, "wrong email or password")
	}
	w := s.do(t, request{method: "POST", path: "/auth/login", body: `{"email":"alice@example.com","password":"wonderland"}`})
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	assert.JSONEq(t, aliceSessionJSON, w.Body.String())

	w = s.do(t, request{method: "POST", path: "/auth/login", body: `{"email":"alice@example.com","password":"nope"}`})
	requireError(t, w, http.StatusUnauthorized, "unauthenticated")

	calls := s.svc.count("Login")
	w = s.do(t, request{method: "POST", path: "/auth/login", body: `{"email":"alice@example.com"}`})
	requireError(t, w, http.StatusBadRequest, "invalid")
	assert.Equal(t, calls, s.svc.count("Login"))
}

func TestRefreshAndLogout(t *testing.T) {
	s := newServer(t)
	s.svc.refresh = func(_ context.Context, token string) (ports.Tokens, error) {
		if token != "refresh-1" {
			return ports.Tokens{}, domain.Errorf(domain.KindUnauthenticated, "invalid refresh token")
		}
		return ports.Tokens{AccessToken: "access-2", RefreshToken: "refresh-2", ExpiresIn: 90 * time.Second}, nil
	}
	var loggedOut string
	s.svc.logout = func(_ context.Context, token string) error { loggedOut = token; return nil }

	w := s.do(t, request{method: "POST", path: "/auth/refresh", body: `{"refreshToken":"refresh-1"}`})
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	assert.JSONEq(t, `{"accessToken":"access-2","refreshToken":"refresh-2","expiresIn":90}`, w.Body.String())

	w = s.do(t, request{method: "POST", path: "/auth/refresh", body: `{"refreshToken":"stale"}`})
	requireError(t, w, http.StatusUnauthorized, "unauthenticated")

	w = s.do(t, request{method: "POST", path: "/auth/refresh", body: `{}`})
	requireError(t, w, http.StatusBadRequest, "invalid")

	w = s.do(t, request{method: "POST", path: "/auth/logout", body: `{"refreshToken":"refresh-2"}`})
	require.Equal(t, http.StatusNoContent, w.Code, w.Body.String())
	assert.Empty(t, w.Body.String())
	assert.Equal(t, "refresh-2", loggedOut)

	w = s.do(t, request{method: "POST", path: "/auth/logout", body: `{"refreshToken":""}`})
	requireError(t, w, http.StatusBadRequest, "invalid")
}

type keySet struct {
	doc []byte
	err error
}

func (k keySet) PublicJWKS() ([]byte, error) { return k.doc, k.err }

func TestJWKS(t *testing.T) {
	doc := `{"keys":[{"kty":"RSA","kid":"k1","alg":"RS256","n":"abc","e":"AQAB"}]}`
	s := newServer(t, func(c *api.Config) { c.Keys = keySet{doc: []byte(doc)} })
	w := s.do(t, request{method: "GET", path: "/.well-known/jwks.json"})
	require.Equal(t, http.StatusOK, w.Code)
	assert.JSONEq(t, doc, w.Body.String())
	assert.Equal(t, "public, max-age=300", w.Header().Get("Cache-Control"))
	assert.Zero(t, s.svc.count("Authenticate"), "the key set is public")

	failing := newServer(t, func(c *api.Config) { c.Keys = keySet{err: domain.Errorf(domain.KindInternal, "boom")} })
	requireError(t, failing.do(t, request{method: "GET", path: "/.well-known/jwks.json"}), http.StatusInternalServerError, "internal")

	none := newServer(t)
	requireError(t, none.do(t, request{method: "GET", path: "/.well-known/jwks.json"}), http.StatusNotFound, "not_found")
}
