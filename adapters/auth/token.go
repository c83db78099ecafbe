package auth

import (
	"context"
	"crypto"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/lestrrat-go/jwx/v2/jwt"

	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
)

// Defaults of TokenConfig.
const (
	DefaultIssuer    = "messenger"
	DefaultAudience  = "messenger"
	DefaultAccessTTL = 15 * time.Minute
	DefaultLeeway    = 30 * time.Second
	DefaultCacheSize = 10_000
)

// maxTokenBytes bounds what is parsed at all; our tokens are well under 1 KiB.
const maxTokenBytes = 8 << 10

// TokenConfig configures Tokens.
type TokenConfig struct {
	// PrivateKey signs access tokens. Either it or PrivateKeyPEM is required;
	// the key must have at least MinKeyBits bits.
	PrivateKey *rsa.PrivateKey
	// PrivateKeyPEM is the PEM file (PKCS#1 or PKCS#8) holding the signing key,
	// used when PrivateKey is nil.
	PrivateKeyPEM []byte
	// KeyID is the kid written in token headers and the JWKS. Default: the
	// key's RFC 7638 JWK thumbprint (SHA-256, base64url), which is stable for a
	// key across processes, so every node sharing a key agrees on it.
	KeyID string
	// RetiredKeys are public keys of earlier signing keys. Tokens they signed
	// stay valid until they expire, and they are published in the JWKS, so a
	// key can be rotated without logging everyone out. Their kid is their JWK
	// thumbprint, so the key they replace must have used the default KeyID.
	RetiredKeys []*rsa.PublicKey
	// Issuer is the iss claim written and required. Default DefaultIssuer.
	Issuer string
	// Audience is the aud claim written and required. Default DefaultAudience.
	Audience string
	// AccessTTL is the lifetime of access tokens. Default DefaultAccessTTL.
	AccessTTL time.Duration
	// Leeway tolerates clock skew between nodes when checking exp, nbf and
	// iat. Default DefaultLeeway; negative means none.
	Leeway time.Duration
	// Clock tells the time. Default ports.SystemClock.
	Clock ports.Clock
	// CacheSize is how many verified tokens are remembered (until they expire)
	// so that they are not verified again. Default DefaultCacheSize; negative
	// disables the cache.
	CacheSize int
}

// Tokens issues and verifies RS256 access tokens and publishes their keys.
// It implements ports.TokenIssuer, ports.TokenVerifier and ports.KeySet.
type Tokens struct {
	signKey  jwk.Key                   // private key with kid and alg set
	keys     map[string]*rsa.PublicKey // kid -> verification key
	jwks     []byte
	issuer   string
	audience string
	ttl      time.Duration
	leeway   time.Duration
	clock    ports.Clock
	cache    *verifiedCache // nil when disabled
	provider jws.KeyProvider
}

var (
	_ ports.TokenIssuer   = (*Tokens)(nil)
	_ ports.TokenVerifier = (*Tokens)(nil)
	_ ports.KeySet        = (*Tokens)(nil)
)

// NewTokens validates cfg, fills its defaults and returns the token service.
func NewTokens(cfg TokenConfig) (*Tokens, error) {
	key := cfg.PrivateKey
	if key == nil {
		if len(cfg.PrivateKeyPEM) == 0 {
			return nil, domain.Errorf(domain.KindInvalid, "auth: a private key is required")
		}
		k, err := LoadPrivateKeyPEM(cfg.PrivateKeyPEM)
		if err != nil {
			return nil, err
		}
		key = k
	} else if err := checkKey(key); err != nil {
		return nil, err
	}
	if cfg.Issuer == "" {
		cfg.Issuer = DefaultIssuer
	}
	if cfg.Audience == "" {
		cfg.Audience = DefaultAudience
	}
	switch {
	case cfg.AccessTTL == 0:
		cfg.AccessTTL = DefaultAccessTTL
	case cfg.AccessTTL < time.Second:
		return nil, domain.Errorf(domain.KindInvalid, "auth: access TTL %s is shorter than a second", cfg.AccessTTL)
	}
	switch {
	case cfg.Leeway == 0:
		cfg.Leeway = DefaultLeeway
	case cfg.Leeway < 0:
		cfg.Leeway = 0
	}
	if cfg.Clock == nil {
		cfg.Clock = ports.SystemClock{}
	}
	if cfg.CacheSize == 0 {
		cfg.CacheSize = DefaultCacheSize
	}

	signKey, err := jwk.FromRaw(key)
	if err != nil {
		return nil, domain.Wrap(domain.KindInvalid, err, "auth: unusable private key")
	}
	kid := cfg.KeyID
	if kid == "" {
		if kid, err = thumbprint(&key.PublicKey); err != nil {
			return nil, err
		}
	}
	if err := signKey.Set(jwk.KeyIDKey, kid); err != nil {
		return nil, domain.Wrap(domain.KindInternal, err, "auth: set kid")
	}
	if err := signKey.Set(jwk.AlgorithmKey, jwa.RS256); err != nil {
		return nil, domain.Wrap(domain.KindInternal, err, "auth: set alg")
	}

	t := &Tokens{
		signKey:  signKey,
		keys:     map[string]*rsa.PublicKey{kid: &key.PublicKey},
		issuer:   cfg.Issuer,
		audience: cfg.Audience,
		ttl:      cfg.AccessTTL,
		leeway:   cfg.Leeway,
		clock:    cfg.Clock,
	}
	order := []string{kid}
	for _, pub := range cfg.RetiredKeys {
		if err := checkPublicKey(pub); err != nil {
			return nil, err
		}
		rkid, err := thumbprint(pub)
		if err != nil {
			return nil, err
		}
		if _, dup := t.keys[rkid]; dup {
			continue
		}
		t.keys[rkid] = pub
		order = append(order, rkid)
	}
	if t.jwks, err = buildJWKS(t.keys, order); err != nil {
		return nil, err
	}
	t.provider = jws.KeyProviderFunc(t.fetchKeys)
	if cfg.CacheSize > 0 {
		t.cache = newVerifiedCache(cfg.CacheSize)
	}
	return t, nil
}

// IssueAccessToken signs a token for user valid for the configured TTL.
func (t *Tokens) IssueAccessToken(_ context.Context, user domain.UserID) (string, time.Duration, error) {
	if _, err := domain.ParseUserID(string(user)); err != nil {
		return "", 0, domain.Wrap(domain.KindInternal, err, "auth: cannot issue a token for an invalid user id")
	}
	now := t.clock.Now()
	tok, err := jwt.NewBuilder().
		JwtID(domain.NewUUID()).
		Issuer(t.issuer).
		Audience([]string{t.audience}).
		Subject(string(user)).
		IssuedAt(now).
		NotBefore(now).
		Expiration(now.Add(t.ttl)).
		Build()
	if err != nil {
		return "", 0, domain.Wrap(domain.KindInternal, err, "auth: build token")
	}
	signed, err := jwt.Sign(tok, jwt.WithKey(jwa.RS256, t.signKey))
	if err != nil {
		return "", 0, domain.Wrap(domain.KindInternal, err, "auth: sign token")
	}
	return string(signed), t.ttl, nil
}

// errBadToken is the one answer to every rejected token: which check failed is
// of use only to an attacker.
var errBadToken = domain.Errorf(domain.KindUnauthenticated, "invalid or expired access token")

// VerifyAccessToken checks signature (RS256 by a known kid), iss, aud, exp,
// nbf, iat and sub and returns the subject and when the token stops being
// accepted (its exp plus the leeway). Errors: KindUnauthenticated.
func (t *Tokens) VerifyAccessToken(ctx context.Context, token string) (domain.UserID, time.Time, error) {
	user, _, deadline, err := t.VerifyAccessTokenIssued(ctx, token)
	return user, deadline, err
}

var _ ports.IssueTimeVerifier = (*Tokens)(nil)

// VerifyAccessTokenIssued implements ports.IssueTimeVerifier: it verifies as
// VerifyAccessToken does and returns the token's iat too (zero for a token
// without one).
func (t *Tokens) VerifyAccessTokenIssued(_ context.Context, token string) (domain.UserID, time.Time, time.Time, error) {
	if token == "" || len(token) > maxTokenBytes || strings.Count(token, ".") != 2 {
		return "", time.Time{}, time.Time{}, errBadToken
	}
	now := t.clock.Now()
	if t.cache != nil {
		if e, ok := t.cache.get(token, now); ok {
			return e.user, e.issued, e.deadline, nil
		}
	}
	tok, err := jwt.Parse([]byte(token),
		jwt.WithKeyProvider(t.provider),
		jwt.WithValidate(true),
		jwt.WithIssuer(t.issuer),
		jwt.WithAudience(t.audience),
		jwt.WithRequiredClaim(jwt.ExpirationKey),
		jwt.WithRequiredClaim(jwt.SubjectKey),
		jwt.WithClock(jwt.ClockFunc(func() time.Time { return now })),
		jwt.WithAcceptableSkew(t.leeway),
	)
	if err != nil {
		return "", time.Time{}, time.Time{}, errBadToken
	}
	// jwx treats exp == 0 as absent; demand a real expiry in the future.
	deadline := tok.Expiration().Add(t.leeway)
	if tok.Expiration().Unix() <= 0 || !now.Before(deadline) {
		return "", time.Time{}, time.Time{}, errBadToken
	}
	user, err := domain.ParseUserID(tok.Subject())
	if err != nil {
		return "", time.Time{}, time.Time{}, errBadToken
	}
	e := verifiedToken{user: user, deadline: deadline}
	if iat := tok.IssuedAt(); iat.Unix() > 0 {
		e.issued = iat.UTC()
	}
	if t.cache != nil {
		t.cache.put(token, e, now)
	}
	return e.user, e.issued, e.deadline, nil
}

// fetchKeys offers the verification key only when the header names RS256 and
// a kid we know, so no other algorithm (none, HS256 keyed with the public key)
// and no unknown key is ever tried.
func (t *Tokens) fetchKeys(_ context.Context, sink jws.KeySink, sig *jws.Signature, _ *jws.Message) error {
	h := sig.ProtectedHeaders()
	if h.Algorithm() != jwa.RS256 {
		return nil
	}
	if pub, ok := t.keys[h.KeyID()]; ok {
		sink.Key(jwa.RS256, pub)
	}
	return nil
}

// PublicJWKS returns the JWK Set of the verification keys, the signing key first.
func (t *Tokens) PublicJWKS() ([]byte, error) {
	out := make([]byte, len(t.jwks))
	copy(out, t.jwks)
	return out, nil
}

// KeyID returns the kid of the signing key.
func (t *Tokens) KeyID() string { return t.signKey.KeyID() }

func buildJWKS(keys map[string]*rsa.PublicKey, order []string) ([]byte, error) {
	set := jwk.NewSet()
	for _, kid := range order {
		k, err := jwk.FromRaw(keys[kid])
		if err != nil {
			return nil, domain.Wrap(domain.KindInvalid, err, "auth: unusable public key")
		}
		for name, v := range map[string]any{
			jwk.KeyIDKey:     kid,
			jwk.AlgorithmKey: jwa.RS256,
			jwk.KeyUsageKey:  jwk.ForSignature,
		} {
			if err := k.Set(name, v); err != nil {
				return nil, domain.Wrap(domain.KindInternal, err, "auth: set "+name)
			}
		}
		if err := set.AddKey(k); err != nil {
			return nil, domain.Wrap(domain.KindInternal, err, "auth: build JWKS")
		}
	}
	b, err := json.Marshal(set)
	if err != nil {
		return nil, domain.Wrap(domain.KindInternal, err, "auth: encode JWKS")
	}
	return b, nil
}

func thumbprint(pub *rsa.PublicKey) (string, error) {
	k, err := jwk.FromRaw(pub)
	if err != nil {
		return "", domain.Wrap(domain.KindInvalid, err, "auth: unusable public key")
	}
	tp, err := k.Thumbprint(crypto.SHA256)
	if err != nil {
		return "", domain.Wrap(domain.KindInternal, err, "auth: key thumbprint")
	}
	return base64.RawURLEncoding.EncodeToString(tp), nil
}
