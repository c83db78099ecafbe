package auth_test

import (
	"context"
	"crypto"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jwt"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/adapters/auth"
	"github.com/messenger-go/messenger/domain"
)

// Keys are generated once per test binary: RSA generation is slow.
var (
	signingKey = sync.OnceValue(func() *rsa.PrivateKey { return mustKey() })
	otherKey   = sync.OnceValue(func() *rsa.PrivateKey { return mustKey() })
)

func mustKey() *rsa.PrivateKey {
	k, err := auth.GenerateKey(2048)
	if err != nil {
		panic(err)
	}
	return k
}

// clock is a settable ports.Clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

const (
	testIssuer   = "https://messenger.test"
	testAudience = "messenger-api"
)

var epoch = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func newTokens(t *testing.T, mutate ...func(*auth.TokenConfig)) (*auth.Tokens, *clock) {
	t.Helper()
	clk := &clock{now: epoch}
	cfg := auth.TokenConfig{
		PrivateKey: signingKey(),
		Issuer:     testIssuer,
		Audience:   testAudience,
		AccessTTL:  15 * time.Minute,
		Leeway:     30 * time.Second,
		Clock:      clk,
	}
	for _, m := range mutate {
		m(&cfg)
	}
	tok, err := auth.NewTokens(cfg)
	require.NoError(t, err)
	return tok, clk
}

// compact builds a compact JWS from header and claims, signed by sign.
func compact(t *testing.T, header, claims map[string]any, sign func(input []byte) []byte) string {
	t.Helper()
	enc := func(v any) string {
		b, err := json.Marshal(v)
		require.NoError(t, err)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	input := enc(header) + "." + enc(claims)
	return input + "." + base64.RawURLEncoding.EncodeToString(sign([]byte(input)))
}

func rs256(key *rsa.PrivateKey) func([]byte) []byte {
	return func(input []byte) []byte {
		sum := sha256.Sum256(input)
		sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
		if err != nil {
			panic(err)
		}
		return sig
	}
}

func hs256(secret []byte) func([]byte) []byte {
	return func(input []byte) []byte {
		m := hmac.New(sha256.New, secret)
		m.Write(input)
		return m.Sum(nil)
	}
}

func noSignature([]byte) []byte { return nil }

func publicPEM(t *testing.T, pub *rsa.PublicKey) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	require.NoError(t, err)
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

func thumbprintOf(t *testing.T, pub *rsa.PublicKey) string {
	t.Helper()
	k, err := jwk.FromRaw(pub)
	require.NoError(t, err)
	tp, err := k.Thumbprint(crypto.SHA256)
	require.NoError(t, err)
	return base64.RawURLEncoding.EncodeToString(tp)
}

func TestVerifyAcceptsIssuedToken(t *testing.T) {
	tokens, _ := newTokens(t)
	user := domain.NewUserID()
	tok, ttl, err := tokens.IssueAccessToken(context.Background(), user)
	require.NoError(t, err)
	assert.Equal(t, 15*time.Minute, ttl)

	got, _, err := tokens.VerifyAccessToken(context.Background(), tok)
	require.NoError(t, err)
	assert.Equal(t, user, got)

	// The claims are what the wire contract promises.
	parsed, err := jwt.ParseString(tok, jwt.WithKey(jwa.RS256, &signingKey().PublicKey), jwt.WithValidate(false))
	require.NoError(t, err)
	assert.Equal(t, string(user), parsed.Subject())
	assert.Equal(t, testIssuer, parsed.Issuer())
	assert.Equal(t, []string{testAudience}, parsed.Audience())
	assert.Equal(t, epoch.Add(15*time.Minute), parsed.Expiration().UTC())
	assert.Equal(t, epoch, parsed.IssuedAt().UTC())
	assert.NotEmpty(t, parsed.JwtID())
}

func TestIssueRejectsInvalidUser(t *testing.T) {
	tokens, _ := newTokens(t)
	_, _, err := tokens.IssueAccessToken(context.Background(), "not-a-uuid")
	require.Error(t, err)
	assert.Equal(t, domain.KindInternal, domain.KindOf(err))
}

func TestVerifyRejects(t *testing.T) {
	tokens, _ := newTokens(t)
	kid := tokens.KeyID()
	user := string(domain.NewUserID())
	now := epoch.Unix()

	claims := func(mutate func(map[string]any)) map[string]any {
		c := map[string]any{
			"iss": testIssuer, "aud": testAudience, "sub": user,
			"iat": now, "nbf": now, "exp": now + 600, "jti": "j1",
		}
		if mutate != nil {
			mutate(c)
		}
		return c
	}
	header := func(mutate func(map[string]any)) map[string]any {
		h := map[string]any{"alg": "RS256", "typ": "JWT", "kid": kid}
		if mutate != nil {
			mutate(h)
		}
		return h
	}
	own := rs256(signingKey())
	valid := compact(t, header(nil), claims(nil), own)

	// The hand-built baseline must pass, or every rejection below proves nothing.
	got, _, err := tokens.VerifyAccessToken(context.Background(), valid)
	require.NoError(t, err)
	require.Equal(t, domain.UserID(user), got)

	pubPEM := publicPEM(t, &signingKey().PublicKey)
	pubDER := x509.MarshalPKCS1PublicKey(&signingKey().PublicKey)
	parts := strings.Split(valid, ".")
	otherClaims := base64.RawURLEncoding.EncodeToString([]byte(`{"iss":"` + testIssuer + `","aud":"` + testAudience + `","sub":"` + string(domain.NewUserID()) + `","exp":` + "9999999999" + `}`))

	cases := []struct {
		name  string
		token string
	}{
		{"empty", ""},
		{"garbage", "garbage"},
		{"garbage with dots", "a.b.c"},
		{"two parts", parts[0] + "." + parts[1]},
		{"four parts", valid + ".x"},
		{"JSON serialization", `{"payload":"` + parts[1] + `","protected":"` + parts[0] + `","signature":"` + parts[2] + `"}`},
		{"alg none without signature", compact(t, header(func(h map[string]any) { h["alg"] = "none" }), claims(nil), noSignature)},
		{"alg none with RS256 signature", strings.Join([]string{
			base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","kid":"` + kid + `"}`)), parts[1], parts[2]}, ".")},
		{"alg None mixed case", compact(t, header(func(h map[string]any) { h["alg"] = "None" }), claims(nil), noSignature)},
		{"HS256 keyed with public key PEM", compact(t, header(func(h map[string]any) { h["alg"] = "HS256" }), claims(nil), hs256(pubPEM))},
		{"HS256 keyed with public key DER", compact(t, header(func(h map[string]any) { h["alg"] = "HS256" }), claims(nil), hs256(pubDER))},
		{"RS512 header", compact(t, header(func(h map[string]any) { h["alg"] = "RS512" }), claims(nil), own)},
		{"no alg", compact(t, header(func(h map[string]any) { delete(h, "alg") }), claims(nil), own)},
		{"other key with our kid", compact(t, header(nil), claims(nil), rs256(otherKey()))},
		{"other key with its own kid", compact(t, header(func(h map[string]any) { h["kid"] = thumbprintOf(t, &otherKey().PublicKey) }), claims(nil), rs256(otherKey()))},
		{"our key with unknown kid", compact(t, header(func(h map[string]any) { h["kid"] = "someone-else" }), claims(nil), own)},
		{"our key without kid", compact(t, header(func(h map[string]any) { delete(h, "kid") }), claims(nil), own)},
		{"tampered signature", parts[0] + "." + parts[1] + "." + flipLast(parts[2])},
		{"tampered payload", parts[0] + "." + otherClaims + "." + parts[2]},
		{"missing exp", compact(t, header(nil), claims(func(c map[string]any) { delete(c, "exp") }), own)},
		{"exp zero", compact(t, header(nil), claims(func(c map[string]any) { c["exp"] = 0 }), own)},
		{"exp not a number", compact(t, header(nil), claims(func(c map[string]any) { c["exp"] = "soon" }), own)},
		{"expired beyond leeway", compact(t, header(nil), claims(func(c map[string]any) { c["exp"] = now - 31 }), own)},
		{"not yet valid beyond leeway", compact(t, header(nil), claims(func(c map[string]any) { c["nbf"] = now + 60 }), own)},
		{"issued in the future beyond leeway", compact(t, header(nil), claims(func(c map[string]any) { c["iat"] = now + 60 }), own)},
		{"missing iss", compact(t, header(nil), claims(func(c map[string]any) { delete(c, "iss") }), own)},
		{"wrong iss", compact(t, header(nil), claims(func(c map[string]any) { c["iss"] = "https://evil.test" }), own)},
		{"missing aud", compact(t, header(nil), claims(func(c map[string]any) { delete(c, "aud") }), own)},
		{"wrong aud", compact(t, header(nil), claims(func(c map[string]any) { c["aud"] = "other-api" }), own)},
		{"wrong aud list", compact(t, header(nil), claims(func(c map[string]any) { c["aud"] = []string{"a", "b"} }), own)},
		{"missing sub", compact(t, header(nil), claims(func(c map[string]any) { delete(c, "sub") }), own)},
		{"empty sub", compact(t, header(nil), claims(func(c map[string]any) { c["sub"] = "" }), own)},
		{"sub not a UUID", compact(t, header(nil), claims(func(c map[string]any) { c["sub"] = "admin" }), own)},
		{"sub with trailing junk", compact(t, header(nil), claims(func(c map[string]any) { c["sub"] = user + "x" }), own)},
		{"oversized", strings.Repeat("a", 9000) + ".b.c"},
	}
	var message string
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, _, err := tokens.VerifyAccessToken(context.Background(), tc.token)
			require.Error(t, err)
			assert.Empty(t, got)
			assert.Equal(t, domain.KindUnauthenticated, domain.KindOf(err))
			if message == "" {
				message = domain.MessageOf(err)
			}
			assert.Equal(t, message, domain.MessageOf(err), "every rejection must look the same")
		})
	}
}

func flipLast(s string) string {
	b := []byte(s)
	if b[len(b)-2] == 'A' {
		b[len(b)-2] = 'B'
	} else {
		b[len(b)-2] = 'A'
	}
	return string(b)
}

func TestVerifyAccepts(t *testing.T) {
	tokens, _ := newTokens(t)
	user := string(domain.NewUserID())
	now := epoch.Unix()
	base := map[string]any{"iss": testIssuer, "aud": testAudience, "sub": user, "exp": now + 600}
	with := func(k string, v any) map[string]any {
		c := map[string]any{}
		for kk, vv := range base {
			c[kk] = vv
		}
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
		return c
	}
	hdr := map[string]any{"alg": "RS256", "kid": tokens.KeyID()}
	cases := []struct {
		name   string
		claims map[string]any
	}{
		{"audience in a list", with("aud", []string{"x", testAudience})},
		{"expired within leeway", with("exp", now-20)},
		{"nbf within leeway", with("nbf", now+20)},
		{"no iat or nbf", base},
		{"upper-case sub", with("sub", strings.ToUpper(user))},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, _, err := tokens.VerifyAccessToken(context.Background(), compact(t, hdr, tc.claims, rs256(signingKey())))
			require.NoError(t, err)
			assert.Equal(t, domain.UserID(user), got)
		})
	}
}

func TestVerifyHonoursExpiryWhenCached(t *testing.T) {
	for _, tc := range []struct {
		name      string
		cacheSize int
	}{
		{"cached", 0},
		{"uncached", -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tokens, clk := newTokens(t, func(c *auth.TokenConfig) { c.CacheSize = tc.cacheSize })
			user := domain.NewUserID()
			issued := clk.Now()
			tok, ttl, err := tokens.IssueAccessToken(context.Background(), user)
			require.NoError(t, err)

			for range 3 {
				got, expires, err := tokens.VerifyAccessToken(context.Background(), tok)
				require.NoError(t, err)
				assert.Equal(t, user, got)
				assert.WithinDuration(t, issued.Add(ttl+30*time.Second), expires, time.Second,
					"accepted until exp plus the leeway, from the cache too")
			}
			clk.Advance(ttl + 29*time.Second) // within leeway
			_, _, err = tokens.VerifyAccessToken(context.Background(), tok)
			require.NoError(t, err)

			clk.Advance(time.Second) // exp + leeway reached
			_, _, err = tokens.VerifyAccessToken(context.Background(), tok)
			require.Error(t, err)
			assert.Equal(t, domain.KindUnauthenticated, domain.KindOf(err))
		})
	}
}

func TestVerifyCacheIsBounded(t *testing.T) {
	tokens, _ := newTokens(t, func(c *auth.TokenConfig) { c.CacheSize = 8 })
	users := make([]domain.UserID, 40)
	toks := make([]string, len(users))
	for i := range users {
		users[i] = domain.NewUserID()
		var err error
		toks[i], _, err = tokens.IssueAccessToken(context.Background(), users[i])
		require.NoError(t, err)
		got, _, err := tokens.VerifyAccessToken(context.Background(), toks[i])
		require.NoError(t, err)
		require.Equal(t, users[i], got)
		require.LessOrEqual(t, auth.CacheLen(tokens), 8)
	}
	assert.Positive(t, auth.CacheLen(tokens))
	// Evicted tokens still verify (the slow way), each as its own user.
	for i := range users {
		got, _, err := tokens.VerifyAccessToken(context.Background(), toks[i])
		require.NoError(t, err)
		assert.Equal(t, users[i], got)
	}
}

func TestVerifyCacheDisabled(t *testing.T) {
	tokens, _ := newTokens(t, func(c *auth.TokenConfig) { c.CacheSize = -1 })
	tok, _, err := tokens.IssueAccessToken(context.Background(), domain.NewUserID())
	require.NoError(t, err)
	_, _, err = tokens.VerifyAccessToken(context.Background(), tok)
	require.NoError(t, err)
	assert.Zero(t, auth.CacheLen(tokens))
}

func TestVerifyConcurrent(t *testing.T) {
	tokens, _ := newTokens(t, func(c *auth.TokenConfig) { c.CacheSize = 4 })
	users := make([]domain.UserID, 8)
	toks := make([]string, len(users))
	for i := range users {
		users[i] = domain.NewUserID()
		var err error
		toks[i], _, err = tokens.IssueAccessToken(context.Background(), users[i])
		require.NoError(t, err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 40 {
				j := (g + i) % len(toks)
				got, _, err := tokens.VerifyAccessToken(context.Background(), toks[j])
				if err != nil {
					errs <- err
					return
				}
				if got != users[j] {
					errs <- assert.AnError
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func TestOtherIssuerSameKeyIsRejected(t *testing.T) {
	ours, _ := newTokens(t)
	theirs, _ := newTokens(t, func(c *auth.TokenConfig) { c.Issuer = "https://other.test" })
	tok, _, err := theirs.IssueAccessToken(context.Background(), domain.NewUserID())
	require.NoError(t, err)
	_, _, err = ours.VerifyAccessToken(context.Background(), tok)
	assert.Equal(t, domain.KindUnauthenticated, domain.KindOf(err))

	otherAud, _ := newTokens(t, func(c *auth.TokenConfig) { c.Audience = "other-api" })
	tok, _, err = otherAud.IssueAccessToken(context.Background(), domain.NewUserID())
	require.NoError(t, err)
	_, _, err = ours.VerifyAccessToken(context.Background(), tok)
	assert.Equal(t, domain.KindUnauthenticated, domain.KindOf(err))
}

func TestJWKS(t *testing.T) {
	tokens, _ := newTokens(t)
	doc, err := tokens.PublicJWKS()
	require.NoError(t, err)
	assert.NotContains(t, string(doc), `"d"`, "private exponent must not be published")
	assert.NotContains(t, string(doc), `"p"`)

	set, err := jwk.Parse(doc)
	require.NoError(t, err)
	require.Equal(t, 1, set.Len())
	key, ok := set.Key(0)
	require.True(t, ok)
	assert.Equal(t, tokens.KeyID(), key.KeyID())
	assert.Equal(t, thumbprintOf(t, &signingKey().PublicKey), key.KeyID(), "default kid is the JWK thumbprint")
	assert.Equal(t, jwa.RS256, key.Algorithm())
	assert.Equal(t, "sig", key.KeyUsage())

	user := domain.NewUserID()
	tok, _, err := tokens.IssueAccessToken(context.Background(), user)
	require.NoError(t, err)
	parsed, err := jwt.ParseString(tok, jwt.WithKeySet(set), jwt.WithValidate(false))
	require.NoError(t, err, "a client holding only the JWKS can verify tokens")
	assert.Equal(t, string(user), parsed.Subject())

	// A token of another key does not verify against the published set.
	other, _ := newTokens(t, func(c *auth.TokenConfig) { c.PrivateKey = otherKey() })
	tok, _, err = other.IssueAccessToken(context.Background(), user)
	require.NoError(t, err)
	_, err = jwt.ParseString(tok, jwt.WithKeySet(set), jwt.WithValidate(false))
	assert.Error(t, err)
}

func TestCustomKeyID(t *testing.T) {
	tokens, _ := newTokens(t, func(c *auth.TokenConfig) { c.KeyID = "key-2026-03" })
	assert.Equal(t, "key-2026-03", tokens.KeyID())
	tok, _, err := tokens.IssueAccessToken(context.Background(), domain.NewUserID())
	require.NoError(t, err)
	hdr, err := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[0])
	require.NoError(t, err)
	assert.JSONEq(t, `{"alg":"RS256","kid":"key-2026-03","typ":"JWT"}`, string(hdr))
	_, _, err = tokens.VerifyAccessToken(context.Background(), tok)
	require.NoError(t, err)
}

func TestRetiredKeysStillVerify(t *testing.T) {
	old, _ := newTokens(t, func(c *auth.TokenConfig) { c.PrivateKey = otherKey() })
	user := domain.NewUserID()
	tok, _, err := old.IssueAccessToken(context.Background(), user)
	require.NoError(t, err)

	rotated, _ := newTokens(t, func(c *auth.TokenConfig) { c.RetiredKeys = []*rsa.PublicKey{&otherKey().PublicKey} })
	got, _, err := rotated.VerifyAccessToken(context.Background(), tok)
	require.NoError(t, err)
	assert.Equal(t, user, got)

	doc, err := rotated.PublicJWKS()
	require.NoError(t, err)
	set, err := jwk.Parse(doc)
	require.NoError(t, err)
	require.Equal(t, 2, set.Len())
	first, _ := set.Key(0)
	assert.Equal(t, rotated.KeyID(), first.KeyID(), "the signing key comes first")

	// Without the retired key the old token is refused.
	fresh, _ := newTokens(t)
	_, _, err = fresh.VerifyAccessToken(context.Background(), tok)
	assert.Equal(t, domain.KindUnauthenticated, domain.KindOf(err))
}

func TestNewTokensConfig(t *testing.T) {
	pemBytes, err := auth.EncodePrivateKeyPEM(signingKey())
	require.NoError(t, err)

	t.Run("from PEM", func(t *testing.T) {
		tokens, err := auth.NewTokens(auth.TokenConfig{PrivateKeyPEM: pemBytes})
		require.NoError(t, err)
		assert.Equal(t, thumbprintOf(t, &signingKey().PublicKey), tokens.KeyID())
		tok, ttl, err := tokens.IssueAccessToken(context.Background(), domain.NewUserID())
		require.NoError(t, err)
		assert.Equal(t, auth.DefaultAccessTTL, ttl)
		_, _, err = tokens.VerifyAccessToken(context.Background(), tok)
		require.NoError(t, err)
	})
	for _, tc := range []struct {
		name string
		cfg  auth.TokenConfig
	}{
		{"no key", auth.TokenConfig{}},
		{"bad PEM", auth.TokenConfig{PrivateKeyPEM: []byte("nope")}},
		{"TTL under a second", auth.TokenConfig{PrivateKey: signingKey(), AccessTTL: time.Millisecond}},
		{"retired key nil", auth.TokenConfig{PrivateKey: signingKey(), RetiredKeys: []*rsa.PublicKey{nil}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := auth.NewTokens(tc.cfg)
			require.Error(t, err)
			assert.Equal(t, domain.KindInvalid, domain.KindOf(err))
		})
	}
}

func BenchmarkVerify(b *testing.B) {
	for _, bc := range []struct {
		name      string
		cacheSize int
	}{
		{"uncached", -1},
		{"cached", 0},
	} {
		b.Run(bc.name, func(b *testing.B) {
			tokens, err := auth.NewTokens(auth.TokenConfig{PrivateKey: signingKey(), CacheSize: bc.cacheSize})
			require.NoError(b, err)
			tok, _, err := tokens.IssueAccessToken(context.Background(), domain.NewUserID())
			require.NoError(b, err)
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := tokens.VerifyAccessToken(context.Background(), tok); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkIssue(b *testing.B) {
	tokens, err := auth.NewTokens(auth.TokenConfig{PrivateKey: signingKey()})
	require.NoError(b, err)
	user := domain.NewUserID()
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := tokens.IssueAccessToken(context.Background(), user); err != nil {
			b.Fatal(err)
		}
	}
}
