package wire_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/wire"
)

type retryErr struct{ wait time.Duration }

func (e retryErr) Error() string             { return "rate limited" }
func (e retryErr) RetryAfter() time.Duration { return e.wait }

func TestErrorAnswers(t *testing.T) {
	cause := errors.New("pq: password authentication failed for user secret_admin")
	tests := []struct {
		name       string
		err        error
		status     int
		close      int
		code       string
		message    string
		retryAfter string
		challenge  string
	}{
		{"invalid", domain.Errorf(domain.KindInvalid, "bad input"), 400, 1008, "invalid", "bad input", "", ""},
		{"unauthenticated", domain.Errorf(domain.KindUnauthenticated, "who are you"), 401, 4001, "unauthenticated", "who are you", "", "Bearer"},
		{"forbidden", domain.Errorf(domain.KindForbidden, "blocked"), 403, 4003, "forbidden", "blocked", "", ""},
		{"not found", domain.Errorf(domain.KindNotFound, "no such user"), 404, 4004, "not_found", "no such user", "", ""},
		{"conflict", domain.Errorf(domain.KindConflict, "taken"), 409, 4009, "conflict", "taken", "", ""},
		{"too large", domain.Errorf(domain.KindTooLarge, "too big"), 413, 1009, "too_large", "too big", "", ""},
		{"rate limited", domain.Errorf(domain.KindRateLimited, "slow down"), 429, 4029, "rate_limited", "slow down", "1", ""},
		{"rate limited with a wait", &domain.Error{Kind: domain.KindRateLimited, Message: "slow down", Err: retryErr{2500 * time.Millisecond}},
			429, 4029, "rate_limited", "slow down", "3", ""},
		{"unavailable", domain.Wrap(domain.KindUnavailable, cause, "database unavailable"), 503, 1013, "unavailable", "database unavailable", "1", ""},
		{"internal", domain.Wrap(domain.KindInternal, cause, "query failed"), 500, 1011, "internal", "internal error", "", ""},
		{"plain error", cause, 500, 1011, "internal", "internal error", "", ""},
		{"kind outside the list", &domain.Error{Kind: domain.Kind(200), Message: "odd"}, 500, 1011, "internal", "internal error", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := domain.KindOf(tt.err)
			assert.Equal(t, tt.status, wire.Status(k))
			assert.Equal(t, tt.close, wire.CloseCode(k))
			want := domain.ErrorPayload{Code: tt.code, Message: tt.message}
			assert.Equal(t, want, wire.Describe(tt.err))
			assert.Equal(t, domain.Event{Name: domain.EventError, Data: want}, wire.ErrorEvent(tt.err))

			w := httptest.NewRecorder()
			wire.WriteHTTPError(w, tt.err)
			assert.Equal(t, tt.status, w.Code)
			assert.Equal(t, "application/json; charset=utf-8", w.Header().Get("Content-Type"))
			assert.Equal(t, "no-store", w.Header().Get("Cache-Control"))
			assert.Equal(t, tt.retryAfter, w.Header().Get("Retry-After"))
			assert.Equal(t, tt.challenge, w.Header().Get("WWW-Authenticate"))
			var body struct {
				Error domain.ErrorPayload `json:"error"`
			}
			require.NoError(t, json.Unmarshal(w.Body.Bytes(), &body), w.Body.String())
			assert.Equal(t, want, body.Error)
			assert.NotContains(t, w.Body.String(), "secret_admin", "causes never reach the client")
		})
	}
}

// TestEveryKindHasItsOwnAnswer keeps the list complete: a kind added to domain
// without a row here would answer 500.
func TestEveryKindHasItsOwnAnswer(t *testing.T) {
	statuses, closes := map[int]domain.Kind{}, map[int]domain.Kind{}
	for k := domain.KindInternal; k <= domain.KindUnavailable; k++ {
		status, code := wire.Status(k), wire.CloseCode(k)
		assert.NotZero(t, status, k.String())
		assert.NotContains(t, statuses, status, "%s shares its status", k)
		assert.NotContains(t, closes, code, "%s shares its close code", k)
		statuses[status], closes[code] = k, k
		if k != domain.KindInternal {
			assert.NotEqual(t, http.StatusInternalServerError, status, "%s has a row", k)
		}
	}
	assert.Equal(t, "internal", domain.Kind(domain.KindUnavailable+1).String(), "a kind was added to domain: give it a row in wire's list")
}

func TestSendErrorEvent(t *testing.T) {
	ev := wire.SendErrorEvent(domain.Errorf(domain.KindForbidden, "not friends"), "c-1")
	assert.Equal(t, domain.EventError, ev.Name)
	b, err := json.Marshal(ev.Data)
	require.NoError(t, err)
	assert.JSONEq(t, `{"code":"forbidden","message":"not friends","clientMessageId":"c-1"}`, string(b))

	hidden := wire.SendErrorEvent(domain.Wrap(domain.KindInternal, errors.New("db password wrong"), "x"), "c-2")
	b, err = json.Marshal(hidden.Data)
	require.NoError(t, err)
	assert.JSONEq(t, `{"code":"internal","message":"internal error","clientMessageId":"c-2"}`, string(b))
}
