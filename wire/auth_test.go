package wire_test

import (
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/wire"
)

func TestBearerToken(t *testing.T) {
	tests := []struct {
		name   string
		header string
		query  string
		allow  bool // the transport takes the query parameter
		want   string
	}{
		{name: "header", header: "Bearer tok", want: "tok"},
		{name: "lower-case scheme", header: "bearer tok", want: "tok"},
		{name: "surrounding blanks", header: "Bearer   tok  ", want: "tok"},
		{name: "missing"},
		{name: "basic scheme", header: "Basic YWxpY2U6cHc="},
		{name: "scheme alone", header: "Bearer"},
		{name: "blank token", header: "Bearer    "},
		{name: "token with a space", header: "Bearer to ken"},
		{name: "token with a tab", header: "Bearer to\tken"},
		{name: "raw token without scheme", header: "tok"},
		{name: "query parameter", query: "?access_token=tok", allow: true, want: "tok"},
		{name: "query parameter where the transport refuses it", query: "?access_token=tok"},
		{name: "empty query parameter", query: "?access_token=", allow: true},
		{name: "header wins over the query", header: "Bearer head", query: "?access_token=query", allow: true, want: "head"},
		{name: "a bad header is not skipped for the query", header: "Basic x", query: "?access_token=tok", allow: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/ws"+tt.query, nil)
			if tt.header != "" {
				r.Header.Set("Authorization", tt.header)
			}
			got, err := wire.BearerToken(r, tt.allow)
			if tt.want == "" {
				require.Error(t, err)
				assert.Equal(t, domain.KindUnauthenticated, domain.KindOf(err))
				assert.NotEmpty(t, domain.MessageOf(err))
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestAnnouncesResume(t *testing.T) {
	for query, want := range map[string]bool{"": false, "?resume=0": false, "?resume=1": true} {
		got, err := wire.AnnouncesResume(httptest.NewRequest("GET", "/ws"+query, nil))
		require.NoError(t, err, query)
		assert.Equal(t, want, got, query)
	}
	for _, query := range []string{"?resume=yes", "?resume=2", "?resume=true"} {
		_, err := wire.AnnouncesResume(httptest.NewRequest("GET", "/ws"+query, nil))
		require.Error(t, err, query)
		assert.Equal(t, domain.KindInvalid, domain.KindOf(err), query)
	}
}
