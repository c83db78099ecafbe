package http

import (
	"math"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
)

type registerRequest struct {
	FirstName string `json:"firstName"`
	LastName  string `json:"lastName"`
	Email     string `json:"email"`
	Password  string `json:"password"`
}

type loginRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

type refreshRequest struct {
	RefreshToken string `json:"refreshToken"`
}

type tokensResponse struct {
	AccessToken  string `json:"accessToken"`
	RefreshToken string `json:"refreshToken"`
	ExpiresIn    int64  `json:"expiresIn"` // seconds
}

type sessionResponse struct {
	User domain.User `json:"user"`
	tokensResponse
}

func tokensOf(t ports.Tokens) tokensResponse {
	return tokensResponse{
		AccessToken:  t.AccessToken,
		RefreshToken: t.RefreshToken,
		ExpiresIn:    int64(math.Round(t.ExpiresIn.Seconds())),
	}
}

func sessionOf(s ports.Session) sessionResponse {
	return sessionResponse{User: s.User, tokensResponse: tokensOf(s.Tokens)}
}

// POST /auth/register {firstName, lastName, email, password} -> 201 session.
func (h *Handler) register(w http.ResponseWriter, r *http.Request) error {
	var req registerRequest
	if err := h.decode(w, r, &req); err != nil {
		return err
	}
	s, err := h.svc.Register(r.Context(), domain.Registration{
		FirstName: req.FirstName, LastName: req.LastName, Email: req.Email, Password: req.Password,
	}, h.clientAddr(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, sessionOf(s))
	return nil
}

// POST /auth/login {email, password} -> 200 session.
func (h *Handler) login(w http.ResponseWriter, r *http.Request) error {
	var req loginRequest
	if err := h.decode(w, r, &req); err != nil {
		return err
	}
	if req.Email == "" || req.Password == "" {
		return domain.Errorf(domain.KindInvalid, "email and password are required")
	}
	s, err := h.svc.Login(r.Context(), req.Email, req.Password, h.clientAddr(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, sessionOf(s))
	return nil
}

// POST /auth/refresh {refreshToken} -> 200 tokens; the old refresh token stops
// working.
func (h *Handler) refresh(w http.ResponseWriter, r *http.Request) error {
	token, err := h.refreshToken(w, r)
	if err != nil {
		return err
	}
	t, err := h.svc.Refresh(r.Context(), token)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, tokensOf(t))
	return nil
}

// POST /auth/logout {refreshToken} -> 204.
func (h *Handler) logout(w http.ResponseWriter, r *http.Request) error {
	token, err := h.refreshToken(w, r)
	if err != nil {
		return err
	}
	if err := h.svc.Logout(r.Context(), token); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) refreshToken(w http.ResponseWriter, r *http.Request) (string, error) {
	var req refreshRequest
	if err := h.decode(w, r, &req); err != nil {
		return "", err
	}
	if req.RefreshToken == "" {
		return "", domain.Errorf(domain.KindInvalid, "refreshToken is required")
	}
	return req.RefreshToken, nil
}

// jwksMaxAge lets clients and proxies cache the key set briefly; a rotation
// keeps the old key published for longer than that.
const jwksMaxAge = 5 * time.Minute

// GET /.well-known/jwks.json -> 200 JWK Set.
func (h *Handler) jwks(w http.ResponseWriter, r *http.Request) {
	doc, err := h.keys.PublicJWKS()
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	rawJSON(w, http.StatusOK, doc, "public, max-age="+strconv.FormatInt(int64(jwksMaxAge/time.Second), 10))
}

// parseProxies reads Config.TrustedProxies.
func parseProxies(cidrs []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, c := range cidrs {
		p, err := netip.ParsePrefix(c)
		if err != nil {
			a, aerr := netip.ParseAddr(c)
			if aerr != nil {
				return nil, domain.Errorf(domain.KindInvalid, "http: trusted proxy %q is neither a CIDR nor an address", c)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		if a := p.Addr(); a.Is4In6() { // clientAddr compares unmapped addresses
			p = netip.PrefixFrom(a.Unmap(), max(p.Bits()-96, 0))
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// clientAddr is the address the request comes from: its peer, or, when the
// peer is a trusted proxy, the right-most hop of X-Forwarded-For that is not
// one (the hops left of it were written by the client and prove nothing).
// The zero Addr when the peer is not an IP address.
func (h *Handler) clientAddr(r *http.Request) netip.Addr {
	peer, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	addr := peer.Addr().Unmap()
	if !h.trustedProxy(addr) {
		return addr
	}
	var hops []string
	for _, v := range r.Header.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(v, ",")...)
	}
	for i := len(hops) - 1; i >= 0; i-- {
		hop, ok := parseHop(hops[i])
		if !ok {
			break
		}
		addr = hop
		if !h.trustedProxy(hop) {
			break
		}
	}
	return addr
}

func (h *Handler) trustedProxy(a netip.Addr) bool {
	for _, p := range h.proxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// parseHop reads one X-Forwarded-For entry: an address, possibly with a port.
func parseHop(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap(), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap(), true
	}
	return netip.Addr{}, false
}
