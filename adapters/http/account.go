package http

import (
	"math"
	"net/http"
	"strconv"
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
	})
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
	s, err := h.svc.Login(r.Context(), req.Email, req.Password)
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
