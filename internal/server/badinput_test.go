package server_test

import (
	"context"
	"crypto"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jwt"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/adapters/auth"
	"github.com/messenger-go/messenger/client"
	"github.com/messenger-go/messenger/domain"
)

// TestEmbeddedServerRejectsBadInput sends every kind of bad input of the wire
// contract and checks its status and JSON error, then that nothing else moved.
func TestEmbeddedServerRejectsBadInput(t *testing.T) {
	ctx := context.Background()
	base := startServer(t, nil)
	alice, bob := register(t, base, "Alice"), register(t, base, "Bob")
	befriend(t, alice, bob)
	_, err := alice.Send(ctx, client.SendRequest{ReceiverID: bob.id, Message: "the only message"})
	require.NoError(t, err)
	conv, _ := domain.NewConversationID(alice.id, bob.id)
	require.Eventually(t, func() bool {
		h, _, err := bob.History(ctx, string(conv), domain.Page{})
		return err == nil && len(h) == 1
	}, 10*time.Second, 20*time.Millisecond)

	bodies := []struct {
		name   string
		body   string
		status int
		code   string
	}{
		{"invalid JSON", `{"receiverId":`, 400, "invalid"},
		{"trailing garbage", `{"receiverId":"` + string(bob.id) + `","message":"x"} {}`, 400, "invalid"},
		{"wrong type", `{"receiverId":"` + string(bob.id) + `","message":42}`, 400, "invalid"},
		{"empty message", `{"receiverId":"` + string(bob.id) + `","message":""}`, 400, "invalid"},
		{"blank message", `{"receiverId":"` + string(bob.id) + `","message":"  \n "}`, 400, "invalid"},
		{"oversized message", `{"receiverId":"` + string(bob.id) + `","message":"` + strings.Repeat("x", domain.MaxMessageBytes+1) + `"}`, 413, "too_large"},
		{"NUL in message", `{"receiverId":"` + string(bob.id) + `","message":"a\u0000b"}`, 400, "invalid"},
		{"NUL in metadata", `{"receiverId":"` + string(bob.id) + `","message":"a","metadata":{"k":"\u0000"}}`, 400, "invalid"},
		{"metadata not an object", `{"receiverId":"` + string(bob.id) + `","message":"a","metadata":[1]}`, 400, "invalid"},
		{"bad receiver UUID", `{"receiverId":"not-a-uuid","message":"a"}`, 400, "invalid"},
		{"unknown messageType", `{"receiverId":"` + string(bob.id) + `","message":"a","messageType":"video"}`, 400, "invalid"},
		{"message to self", `{"receiverId":"` + string(alice.id) + `","message":"a"}`, 400, "invalid"},
		{"body over the limit", `{"receiverId":"` + string(bob.id) + `","message":"` + strings.Repeat("x", 70<<10) + `"}`, 413, "too_large"},
	}
	for _, tc := range bodies {
		t.Run(tc.name, func(t *testing.T) {
			err := alice.DoRaw(ctx, "POST", "/messages/send", strings.NewReader(tc.body), nil)
			apiError(t, err, tc.status, tc.code)
		})
	}

	t.Run("bad history cursor", func(t *testing.T) {
		apiError(t, bob.Do(ctx, "GET", "/messages/history/"+string(conv)+"?limit=abc", nil, nil), 400, "invalid")
		apiError(t, bob.Do(ctx, "GET", "/messages/history/"+string(conv)+"?limit=201", nil, nil), 400, "invalid")
		apiError(t, bob.Do(ctx, "GET", "/messages/history/not-an-id", nil, nil), 400, "invalid")
	})
	t.Run("bad mark-read", func(t *testing.T) {
		apiError(t, bob.Do(ctx, "POST", "/messages/mark-read", map[string]any{"conversationId": "x_y", "upToSequenceId": 1}, nil), 400, "invalid")
		apiError(t, bob.Do(ctx, "POST", "/messages/mark-read", map[string]any{"conversationId": conv, "upToSequenceId": 0}, nil), 400, "invalid")
	})

	tokens := badTokens(t, alice.id)
	for name, token := range tokens {
		t.Run("token "+name, func(t *testing.T) {
			c := client.New(base, nil).WithToken(token)
			_, err := c.Send(ctx, client.SendRequest{ReceiverID: bob.id, Message: "forged"})
			apiError(t, err, 401, "unauthenticated")
			_, err = c.Dial(ctx)
			require.Error(t, err, "the socket refuses the token too")
		})
	}

	t.Run("a well-formed token of the same key is accepted", func(t *testing.T) {
		// Guards the forged-token cases: they fail for their flaw, not for
		// being built by hand.
		c := client.New(base, nil).WithToken(signToken(t, alice.id, time.Now().Add(time.Minute), "messenger", "messenger"))
		_, err := c.UnreadCount(ctx)
		require.NoError(t, err)
	})

	h, _, err := bob.History(ctx, string(conv), domain.Page{})
	require.NoError(t, err)
	require.Len(t, h, 1, "no bad input stored anything")
	u, err := bob.UnreadCount(ctx)
	require.NoError(t, err)
	require.Equal(t, int64(1), u.Total)
}

// badTokens builds tokens that must all be refused.
func badTokens(t *testing.T, sub domain.UserID) map[string]string {
	t.Helper()
	now := time.Now()
	key := testKey(t)
	pubDER, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	require.NoError(t, err)
	claims := map[string]any{"sub": sub, "iss": "messenger", "aud": "messenger", "exp": now.Add(time.Hour).Unix(), "iat": now.Unix()}
	return map[string]string{
		"missing":                   "",
		"garbage":                   "not.a.token",
		"expired":                   signToken(t, sub, now.Add(-time.Hour), "messenger", "messenger"),
		"wrong issuer":              signToken(t, sub, now.Add(time.Hour), "someone-else", "messenger"),
		"wrong audience":            signToken(t, sub, now.Add(time.Hour), "messenger", "other-app"),
		"alg none":                  unsigned(t, map[string]any{"alg": "none", "typ": "JWT", "kid": keyID(t)}, claims) + ".",
		"HS256 with the public key": hmacToken(t, map[string]any{"alg": "HS256", "typ": "JWT", "kid": keyID(t)}, claims, pubDER),
	}
}

func testKey(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	pem, err := os.ReadFile(testKeyFile(t))
	require.NoError(t, err)
	k, err := auth.LoadPrivateKeyPEM(pem)
	require.NoError(t, err)
	return k
}

func keyID(t *testing.T) string {
	t.Helper()
	k, err := jwk.FromRaw(testKey(t).PublicKey)
	require.NoError(t, err)
	tp, err := k.Thumbprint(crypto.SHA256)
	require.NoError(t, err)
	return base64.RawURLEncoding.EncodeToString(tp)
}

// signToken signs a token with the server's (test) key.
func signToken(t *testing.T, sub domain.UserID, exp time.Time, iss, aud string) string {
	t.Helper()
	tok, err := jwt.NewBuilder().Subject(string(sub)).Issuer(iss).Audience([]string{aud}).
		IssuedAt(time.Now().Add(-2 * time.Hour)).Expiration(exp).Build()
	require.NoError(t, err)
	k, err := jwk.FromRaw(testKey(t))
	require.NoError(t, err)
	require.NoError(t, k.Set(jwk.KeyIDKey, keyID(t)))
	signed, err := jwt.Sign(tok, jwt.WithKey(jwa.RS256, k))
	require.NoError(t, err)
	return string(signed)
}

func unsigned(t *testing.T, header, claims map[string]any) string {
	t.Helper()
	h, err := json.Marshal(header)
	require.NoError(t, err)
	c, err := json.Marshal(claims)
	require.NoError(t, err)
	return base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c)
}

func hmacToken(t *testing.T, header, claims map[string]any, secret []byte) string {
	t.Helper()
	input := unsigned(t, header, claims)
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(input))
	return input + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}
