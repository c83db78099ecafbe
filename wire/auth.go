package wire

import (
	"net/http"
	"strings"

	"github.com/messenger-go/messenger/domain"
)

// BearerToken returns the access token of r: the token of an
// "Authorization: Bearer <token>" header (the scheme in any case), or, when
// query is true and there is no such header, the access_token query
// parameter, for transports that browsers open without headers (the
// WebSocket). A header that is present but not a bearer token is refused, not
// skipped. Errors: KindUnauthenticated.
func BearerToken(r *http.Request, query bool) (string, error) {
	header := r.Header.Get("Authorization")
	if header == "" {
		if token := r.URL.Query().Get("access_token"); query && token != "" {
			return token, nil
		}
		return "", domain.Errorf(domain.KindUnauthenticated, "missing bearer token")
	}
	scheme, token, ok := strings.Cut(header, " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" || strings.ContainsAny(token, " \t") {
		return "", domain.Errorf(domain.KindUnauthenticated, "authorization must be a bearer token")
	}
	return token, nil
}

// AnnouncesResume reads the resume query parameter of a socket's request:
// with resume=1 the client announces that a resume follows at once, and
// live messages wait for it; absent or 0, nothing waits. Errors: KindInvalid.
func AnnouncesResume(r *http.Request) (bool, error) {
	switch r.URL.Query().Get("resume") {
	case "", "0":
		return false, nil
	case "1":
		return true, nil
	}
	return false, domain.Errorf(domain.KindInvalid, "resume must be 1 (a resume follows) or 0")
}
