package domain_test

import (
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/domain"
)

func TestKindString(t *testing.T) {
	tests := []struct {
		kind domain.Kind
		want string
	}{
		{domain.KindInternal, "internal"},
		{domain.KindInvalid, "invalid"},
		{domain.KindUnauthenticated, "unauthenticated"},
		{domain.KindForbidden, "forbidden"},
		{domain.KindNotFound, "not_found"},
		{domain.KindConflict, "conflict"},
		{domain.KindTooLarge, "too_large"},
		{domain.KindRateLimited, "rate_limited"},
		{domain.KindUnavailable, "unavailable"},
		{domain.Kind(200), "internal"},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			assert.Equal(t, tc.want, tc.kind.String())
		})
	}
}

func TestErrorf(t *testing.T) {
	err := domain.Errorf(domain.KindNotFound, "user %s not found", "u1")
	var de *domain.Error
	require.ErrorAs(t, err, &de)
	assert.Equal(t, domain.KindNotFound, de.Kind)
	assert.Equal(t, "user u1 not found", de.Message)
	assert.NoError(t, de.Err)
	assert.Equal(t, "user u1 not found", err.Error())
}

func TestWrap(t *testing.T) {
	cause := errors.New("connection refused")
	tests := []struct {
		name    string
		err     error
		wantErr string
	}{
		{"message and cause", domain.Wrap(domain.KindUnavailable, cause, "store unavailable"), "store unavailable: connection refused"},
		{"cause only", domain.Wrap(domain.KindUnavailable, cause, ""), "connection refused"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Error(t, tc.err)
			assert.Equal(t, tc.wantErr, tc.err.Error())
			assert.ErrorIs(t, tc.err, cause, "the cause stays in the chain")
			assert.Equal(t, domain.KindUnavailable, domain.KindOf(tc.err))
		})
	}
	assert.NoError(t, domain.Wrap(domain.KindInternal, nil, "nothing"), "wrapping nil gives nil")
}

func TestKindOf(t *testing.T) {
	notFound := domain.Errorf(domain.KindNotFound, "no such user")
	tests := []struct {
		name string
		err  error
		want domain.Kind
	}{
		{"nil", nil, domain.KindInternal},
		{"plain error", errors.New("boom"), domain.KindInternal},
		{"io.EOF", io.EOF, domain.KindInternal},
		{"domain error", notFound, domain.KindNotFound},
		{"wrapped by fmt", fmt.Errorf("loading: %w", notFound), domain.KindNotFound},
		{"wrapped twice by fmt", fmt.Errorf("a: %w", fmt.Errorf("b: %w", notFound)), domain.KindNotFound},
		{"outer kind wins", domain.Wrap(domain.KindConflict, notFound, "taken"), domain.KindConflict},
		{"joined", errors.Join(errors.New("x"), notFound), domain.KindNotFound},
		{"sentinel", domain.ErrRateLimited, domain.KindRateLimited},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, domain.KindOf(tc.err))
		})
	}
}

func TestErrorsIsSentinels(t *testing.T) {
	sentinels := map[domain.Kind]error{
		domain.KindInvalid:         domain.ErrInvalid,
		domain.KindUnauthenticated: domain.ErrUnauthenticated,
		domain.KindForbidden:       domain.ErrForbidden,
		domain.KindNotFound:        domain.ErrNotFound,
		domain.KindConflict:        domain.ErrConflict,
		domain.KindTooLarge:        domain.ErrTooLarge,
		domain.KindRateLimited:     domain.ErrRateLimited,
		domain.KindUnavailable:     domain.ErrUnavailable,
	}
	for kind, sentinel := range sentinels {
		t.Run(kind.String(), func(t *testing.T) {
			assert.Equal(t, kind, domain.KindOf(sentinel))
			errs := []error{
				domain.Errorf(kind, "with a message"),
				fmt.Errorf("context: %w", domain.Errorf(kind, "wrapped")),
				domain.Wrap(kind, errors.New("cause"), "with a cause"),
				sentinel,
			}
			for _, err := range errs {
				assert.ErrorIs(t, err, sentinel, "%v", err)
				for other, otherSentinel := range sentinels {
					if other != kind {
						assert.NotErrorIs(t, err, otherSentinel, "%v is not %s", err, other)
					}
				}
			}
		})
	}
}

func TestErrorsIsNeedsABareTarget(t *testing.T) {
	err := domain.Errorf(domain.KindNotFound, "no such user")
	assert.NotErrorIs(t, err, domain.Errorf(domain.KindNotFound, "other message"),
		"only bare sentinels match by kind")
	assert.NotErrorIs(t, errors.New("no such user"), domain.ErrNotFound)
	assert.NotErrorIs(t, domain.Errorf(domain.KindInternal, "x"), domain.ErrNotFound)
}

func TestMessageOf(t *testing.T) {
	secret := errors.New("pq: password authentication failed for user admin")
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"nil", nil, "internal error"},
		{"plain error is internal", secret, "internal error"},
		{"domain message", domain.Errorf(domain.KindNotFound, "user not found"), "user not found"},
		{"context added by fmt is not shown", fmt.Errorf("query users: %w", domain.Errorf(domain.KindNotFound, "user not found")), "user not found"},
		{"wrapped cause is not shown", domain.Wrap(domain.KindUnavailable, secret, "database unavailable"), "database unavailable"},
		{"sentinel shows its kind", domain.ErrConflict, "conflict"},
		{"sentinel wrapped by fmt shows its kind", fmt.Errorf("insert: %w", domain.ErrConflict), "conflict"},
		{"empty message falls through to an inner message", domain.Wrap(domain.KindInvalid, domain.Errorf(domain.KindInvalid, "bad id"), ""), "bad id"},
		{"internal kind hides its message", domain.Errorf(domain.KindInternal, "nil pointer in %s", "handler"), "internal error"},
		{"internal wrap hides message and cause", domain.Wrap(domain.KindInternal, secret, "query failed"), "internal error"},
		{"internal inside a public kind without message", domain.Wrap(domain.KindInvalid, domain.Errorf(domain.KindInternal, "secret"), ""), "internal error"},
		{"plain cause inside a kind without message", domain.Wrap(domain.KindUnavailable, secret, ""), "internal error"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := domain.MessageOf(tc.err)
			assert.Equal(t, tc.want, got)
			assert.NotContains(t, got, "password", "causes never leak")
			assert.NotContains(t, got, "secret")
		})
	}
}
