package auth

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"

	"github.com/messenger-go/messenger/domain"
)

// MinKeyBits is the smallest RSA modulus accepted for signing or verifying.
const MinKeyBits = 2048

// GenerateKey returns a fresh RSA key of bits bits (at least MinKeyBits). The
// embedded server uses it for an ephemeral signing key; tokens signed with it
// die with the process.
func GenerateKey(bits int) (*rsa.PrivateKey, error) {
	if bits < MinKeyBits {
		return nil, domain.Errorf(domain.KindInvalid, "RSA key must have at least %d bits, got %d", MinKeyBits, bits)
	}
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		return nil, domain.Wrap(domain.KindInternal, err, "generate RSA key")
	}
	return k, nil
}

// LoadPrivateKeyPEM decodes the first private key block of a PEM file: PKCS#1
// ("RSA PRIVATE KEY") or PKCS#8 ("PRIVATE KEY") holding an RSA key of at least
// MinKeyBits. Other blocks before it (certificates, parameters) are skipped.
func LoadPrivateKeyPEM(data []byte) (*rsa.PrivateKey, error) {
	rest := data
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return nil, domain.Errorf(domain.KindInvalid, "no RSA private key found in PEM data")
		}
		var key *rsa.PrivateKey
		switch block.Type {
		case "RSA PRIVATE KEY":
			k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
			if err != nil {
				return nil, domain.Wrap(domain.KindInvalid, err, "invalid PKCS#1 RSA private key")
			}
			key = k
		case "PRIVATE KEY":
			k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
			if err != nil {
				return nil, domain.Wrap(domain.KindInvalid, err, "invalid PKCS#8 private key")
			}
			rk, ok := k.(*rsa.PrivateKey)
			if !ok {
				return nil, domain.Errorf(domain.KindInvalid, "PKCS#8 key is %T, not RSA", k)
			}
			key = rk
		case "ENCRYPTED PRIVATE KEY":
			return nil, domain.Errorf(domain.KindInvalid, "encrypted private keys are not supported")
		default:
			continue
		}
		if err := checkKey(key); err != nil {
			return nil, err
		}
		return key, nil
	}
}

// EncodePrivateKeyPEM returns key as a PKCS#8 PEM block, the form
// LoadPrivateKeyPEM reads back.
func EncodePrivateKeyPEM(key *rsa.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, domain.Wrap(domain.KindInvalid, err, "encode private key")
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

func checkKey(key *rsa.PrivateKey) error {
	if key == nil {
		return domain.Errorf(domain.KindInvalid, "no RSA private key")
	}
	if err := key.Validate(); err != nil {
		return domain.Wrap(domain.KindInvalid, err, "invalid RSA private key")
	}
	return checkPublicKey(&key.PublicKey)
}

func checkPublicKey(key *rsa.PublicKey) error {
	if key == nil || key.N == nil {
		return domain.Errorf(domain.KindInvalid, "no RSA public key")
	}
	if bits := key.N.BitLen(); bits < MinKeyBits {
		return domain.Errorf(domain.KindInvalid, "RSA key must have at least %d bits, got %d", MinKeyBits, bits)
	}
	return nil
}
