package http_test

import (
	"context"
	"net/http"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
)

// TestBodiesMustBeCleanText: a body that is not UTF-8 or holds a NUL, raw or
// escaped, is refused before anything is decoded; JSON would have replaced
// the bad bytes with U+FFFD.
func TestBodiesMustBeCleanText(t *testing.T) {
	s := newServer(t)
	var got domain.Registration
	s.svc.register = func(_ context.Context, r domain.Registration, _ netip.Addr) (ports.Session, error) {
		got = r
		return aliceSession, nil
	}
	body := func(first string) string {
		return `{"firstName":"` + first + `","lastName":"L","email":"alice@example.com","password":"wonderland"}`
	}
	refused := []struct{ name, body string }{
		{"a byte that is not UTF-8", body("Al\xffce")},
		{"a truncated sequence", body("Al\xc3")},
		{"an over-long encoding", body("\xc0\xafAlice")},
		{"a surrogate encoded in UTF-8", body("\xed\xa0\x80")},
		{"invalid UTF-8 in a field nobody reads", `{"firstName":"A","x":"\xfe","lastName":"L","email":"alice@example.com","password":"wonderland"}`},
		{"a raw NUL", body("Al\x00ce")},
		{"an escaped NUL", body(`Al\u0000ce`)},
		{"an unpaired high surrogate", body(`Al\ud83dce`)},
		{"an unpaired low surrogate", body(`Al\ude00ce`)},
		{"a high surrogate before a non-surrogate escape", body(`\ud83d\u0041`)},
	}
	for _, c := range refused {
		t.Run(c.name, func(t *testing.T) {
			calls := s.svc.count("Register")
			w := s.do(t, request{method: "POST", path: "/auth/register", body: c.body})
			requireError(t, w, http.StatusBadRequest, "invalid")
			assert.Equal(t, calls, s.svc.count("Register"), "the service is not called")
		})
	}
	accepted := []struct{ name, body, first string }{
		{"plain UTF-8", body("Zoë 😀"), "Zoë 😀"},
		{"a surrogate pair escape", body(`\ud83d\ude00`), "😀"},
		{"an escaped backslash before u0000", body(`a\\u0000`), `a\u0000`},
		{"other escapes", body(`\"\t\u00e9`), "\"\té"},
	}
	for _, c := range accepted {
		t.Run(c.name, func(t *testing.T) {
			w := s.do(t, request{method: "POST", path: "/auth/register", body: c.body})
			require.Equal(t, http.StatusCreated, w.Code, w.Body.String())
			assert.Equal(t, c.first, got.FirstName)
		})
	}
}
