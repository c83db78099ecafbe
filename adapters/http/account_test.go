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

func TestLoginAndRegisterGetTheClientAddress(t *testing.T) {
	cases := []struct {
		name       string
		proxies    []string
		remoteAddr string
		forwarded  []string
		want       string // "" for the zero Addr
	}{
		{"the peer", nil, "198.51.100.7:4711", nil, "198.51.100.7"},
		{"an IPv6 peer", nil, "[2001:db8::1]:4711", nil, "2001:db8::1"},
		{"an IPv4-mapped peer", nil, "[::ffff:198.51.100.7]:4711", nil, "198.51.100.7"},
		{"X-Forwarded-For of an untrusted peer is ignored", nil, "198.51.100.7:4711", []string{"203.0.113.9"}, "198.51.100.7"},
		{"a trusted proxy: the hop it saw", []string{"10.0.0.0/8"}, "10.1.2.3:4711", []string{"203.0.113.9"}, "203.0.113.9"},
		{"the right-most untrusted hop, not what the client wrote", []string{"10.0.0.0/8"}, "10.1.2.3:4711",
			[]string{"192.0.2.1, 203.0.113.9"}, "203.0.113.9"},
		{"through two trusted proxies", []string{"10.0.0.0/8", "172.16.0.5"}, "10.1.2.3:4711",
			[]string{"192.0.2.1, 203.0.113.9", "172.16.0.5"}, "203.0.113.9"},
		{"a hop with a port", []string{"10.0.0.0/8"}, "10.1.2.3:4711", []string{"[2001:db8::7]:443"}, "2001:db8::7"},
		{"a proxy without X-Forwarded-For", []string{"10.0.0.0/8"}, "10.1.2.3:4711", nil, "10.1.2.3"},
		{"a malformed hop stops the walk", []string{"10.0.0.0/8"}, "10.1.2.3:4711", []string{"203.0.113.9, garbage"}, "10.1.2.3"},
		{"every hop trusted", []string{"10.0.0.0/8"}, "10.1.2.3:4711", []string{"10.9.9.9"}, "10.9.9.9"},
		{"a peer that is no IP address", nil, "@", nil, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newServer(t, func(cfg *api.Config) { cfg.TrustedProxies = c.proxies })
			var fromLogin, fromRegister netip.Addr
			s.svc.login = func(_ context.Context, _, _ string, from netip.Addr) (ports.Session, error) {
				fromLogin = from
				return aliceSession, nil
			}
			s.svc.register = func(_ context.Context, _ domain.Registration, from netip.Addr) (ports.Session, error) {
				fromRegister = from
				return aliceSession, nil
			}
			hdr := http.Header{}
			for _, v := range c.forwarded {
				hdr.Add("X-Forwarded-For", v)
			}
			w := s.do(t, request{method: "POST", path: "/auth/login", remoteAddr: c.remoteAddr, header: hdr,
				body: `{"email":"alice@example.com","password":"wonderland"}`})
			require.Equal(t, http.StatusOK, w.Code, w.Body.String())
			w = s.do(t, request{method: "POST", path: "/auth/register", remoteAddr: c.remoteAddr, header: hdr,
				body: `{"firstName":"A","lastName":"L","email":"alice@example.com","password":"wonderland"}`})
			require.Equal(t, http.StatusCreated, w.Code, w.Body.String())
			var want netip.Addr
			if c.want != "" {
				want = netip.MustParseAddr(c.want)
			}
			assert.Equal(t, want, fromLogin, "login")
			assert.Equal(t, want, fromRegister, "register")
		})
	}
}

func TestTrustedProxiesAreValidated(t *testing.T) {
	_, err := api.NewHandler(api.Config{Service: &fakeService{}, TrustedProxies: []string{"10.0.0.0/8", "proxy.local"}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "proxy.local")
	_, err = api.NewHandler(api.Config{Service: &fakeService{}, TrustedProxies: []string{"10.0.0.0/8", "::ffff:10.0.0.0/104", "2001:db8::1"}})
	require.NoError(t, err)
}

func TestLoginRateLimitedAnswers429WithRetryAfter(t *testing.T) {
	s := newServer(t)
	s.svc.login = func(context.Context, string, string, netip.Addr) (ports.Session, error) {
		return ports.Session{}, ports.Limited(90*time.Second+time.Millisecond, "too many failed logins")
	}
	w := s.do(t, request{method: "POST", path: "/auth/login", body: `{"email":"alice@example.com","password":"wonderland"}`})
	msg := requireError(t, w, http.StatusTooManyRequests, "rate_limited")
	assert.Equal(t, "91", w.Header().Get("Retry-After"), "the wait, rounded up to whole seconds")
	assert.Contains(t, msg, "too many failed logins")

	s.svc.register = func(context.Context, domain.Registration, netip.Addr) (ports.Session, error) {
		return ports.Session{}, ports.Limited(time.Hour, "too many registrations from this address")
	}
	w = s.do(t, request{method: "POST", path: "/auth/register", body: `{"firstName":"A","lastName":"L","email":"alice@example.com","password":"wonderland"}`})
	requireError(t, w, http.StatusTooManyRequests, "rate_limited")
	assert.Equal(t, "3600", w.Header().Get("Retry-After"))
}
