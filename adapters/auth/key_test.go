package auth_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/adapters/auth"
	"github.com/messenger-go/messenger/domain"
)

func TestLoadPrivateKeyPEM(t *testing.T) {
	key := signingKey()
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	ecDER, err := x509.MarshalPKCS8PrivateKey(ec)
	require.NoError(t, err)
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	require.NoError(t, err)
	block := func(typ string, der []byte) []byte { return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}) }
	encoded, err := auth.EncodePrivateKeyPEM(key)
	require.NoError(t, err)

	good := []struct {
		name string
		pem  []byte
	}{
		{"PKCS#1", block("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(key))},
		{"PKCS#8", block("PRIVATE KEY", pkcs8)},
		{"after a certificate-like block", append(block("CERTIFICATE", []byte("junk")), block("PRIVATE KEY", pkcs8)...)},
		{"EncodePrivateKeyPEM output", encoded},
	}
	for _, tc := range good {
		t.Run(tc.name, func(t *testing.T) {
			got, err := auth.LoadPrivateKeyPEM(tc.pem)
			require.NoError(t, err)
			assert.True(t, key.Equal(got))
		})
	}

	bad := []struct {
		name string
		pem  []byte
	}{
		{"empty", nil},
		{"not PEM", []byte("hello")},
		{"public key only", block("PUBLIC KEY", x509.MarshalPKCS1PublicKey(&key.PublicKey))},
		{"corrupt PKCS#1", block("RSA PRIVATE KEY", []byte("junk"))},
		{"corrupt PKCS#8", block("PRIVATE KEY", []byte("junk"))},
		{"EC key", block("PRIVATE KEY", ecDER)},
		{"encrypted", block("ENCRYPTED PRIVATE KEY", []byte("junk"))},
		{"1024-bit key", block("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(small))},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, err := auth.LoadPrivateKeyPEM(tc.pem)
			require.Error(t, err)
			assert.Equal(t, domain.KindInvalid, domain.KindOf(err))
		})
	}
}

func TestGenerateKey(t *testing.T) {
	_, err := auth.GenerateKey(1024)
	require.Error(t, err)
	assert.Equal(t, domain.KindInvalid, domain.KindOf(err))

	k := signingKey() // made by GenerateKey(2048)
	assert.Equal(t, 2048, k.N.BitLen())
	require.NoError(t, k.Validate())
}
