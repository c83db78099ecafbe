package auth_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/adapters/auth"
	"github.com/messenger-go/messenger/domain"
)

func TestVerifyAccessTokenIssued(t *testing.T) {
	for _, cacheSize := range []int{-1, 10} { // verified, then from the cache too
		c := &clock{now: time.Date(2030, 1, 2, 3, 4, 5, 600_000_000, time.UTC)}
		tokens, err := auth.NewTokens(auth.TokenConfig{PrivateKey: signingKey(), Clock: c, CacheSize: cacheSize})
		require.NoError(t, err)
		user := domain.NewUserID()
		tok, ttl, err := tokens.IssueAccessToken(context.Background(), user)
		require.NoError(t, err)
		c.Advance(time.Minute)
		for range 2 {
			got, issued, expires, err := tokens.VerifyAccessTokenIssued(context.Background(), tok)
			require.NoError(t, err)
			assert.Equal(t, user, got)
			assert.Equal(t, time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC), issued, "iat, in whole seconds")
			_, plainExpires, err := tokens.VerifyAccessToken(context.Background(), tok)
			require.NoError(t, err)
			assert.Equal(t, plainExpires, expires, "the same deadline as VerifyAccessToken")
			assert.Equal(t, issued.Add(ttl).Add(auth.DefaultLeeway), expires)
		}
		_, _, _, err = tokens.VerifyAccessTokenIssued(context.Background(), tok+"x")
		assert.Equal(t, domain.KindUnauthenticated, domain.KindOf(err))
	}
}
