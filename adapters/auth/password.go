package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"

	"golang.org/x/crypto/argon2"

	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
)

// PasswordParams are argon2id cost settings. Hashes record the parameters they
// were made with, so changing them affects new hashes only.
type PasswordParams struct {
	Memory      uint32 // KiB
	Iterations  uint32
	Parallelism uint8
	SaltLen     uint32 // bytes
	KeyLen      uint32 // bytes
}

// DefaultPasswordParams are OWASP's minimum recommendation for argon2id
// (19 MiB, 2 passes, 1 lane).
var DefaultPasswordParams = PasswordParams{Memory: 19 * 1024, Iterations: 2, Parallelism: 1, SaltLen: 16, KeyLen: 32}

// TestPasswordParams are cheap settings for tests: far too weak for real use.
var TestPasswordParams = PasswordParams{Memory: 64, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32}

// Bounds on parameters read back from a stored hash, so that a corrupt or
// hostile hash cannot make verification allocate gigabytes or spin for minutes.
const (
	maxMemoryKiB  = 1 << 20 // 1 GiB
	maxIterations = 64
	minSaltLen    = 8
	maxSaltLen    = 64
	minKeyLen     = 16
	maxKeyLen     = 128
)

// PasswordConfig configures Passwords.
type PasswordConfig struct {
	// Params are the costs of new hashes. Zero fields take the value of
	// DefaultPasswordParams.
	Params PasswordParams
	// MaxConcurrent bounds how many hashes are computed at once (each holds
	// Params.Memory KiB while it runs); further calls wait. Default
	// 2*GOMAXPROCS.
	MaxConcurrent int
	// MaxWaiting bounds how many calls may wait for one of those slots; a
	// call beyond it fails at once with KindUnavailable instead of queueing,
	// so that a flood of logins cannot delay every real one without bound.
	// Default 4*MaxConcurrent; negative: no call waits.
	MaxWaiting int
}

// Passwords hashes passwords with argon2id in the PHC string format
// ($argon2id$v=19$m=...,t=...,p=...$salt$hash). It implements
// ports.PasswordHasher.
type Passwords struct {
	params   PasswordParams
	slots    chan struct{}
	admitted atomic.Int64 // calls in derive: computing or waiting for a slot
	capacity int64        // MaxConcurrent + MaxWaiting
	// key computes a hash; tests substitute a slow one.
	key func(password, salt []byte, p PasswordParams) []byte
}

func argon2Key(password, salt []byte, p PasswordParams) []byte {
	return argon2.IDKey(password, salt, p.Iterations, p.Memory, p.Parallelism, p.KeyLen)
}

var errBusy = domain.Errorf(domain.KindUnavailable, "too many passwords are being checked; retry shortly")

var _ ports.PasswordHasher = (*Passwords)(nil)

// NewPasswords validates cfg, fills its defaults and returns the hasher.
func NewPasswords(cfg PasswordConfig) (*Passwords, error) {
	p, d := cfg.Params, DefaultPasswordParams
	if p.Memory == 0 {
		p.Memory = d.Memory
	}
	if p.Iterations == 0 {
		p.Iterations = d.Iterations
	}
	if p.Parallelism == 0 {
		p.Parallelism = d.Parallelism
	}
	if p.SaltLen == 0 {
		p.SaltLen = d.SaltLen
	}
	if p.KeyLen == 0 {
		p.KeyLen = d.KeyLen
	}
	if err := p.check(); err != nil {
		return nil, err
	}
	if cfg.MaxConcurrent <= 0 {
		cfg.MaxConcurrent = 2 * runtime.GOMAXPROCS(0)
	}
	switch {
	case cfg.MaxWaiting == 0:
		cfg.MaxWaiting = 4 * cfg.MaxConcurrent
	case cfg.MaxWaiting < 0:
		cfg.MaxWaiting = 0
	}
	return &Passwords{
		params:   p,
		slots:    make(chan struct{}, cfg.MaxConcurrent),
		capacity: int64(cfg.MaxConcurrent + cfg.MaxWaiting),
		key:      argon2Key,
	}, nil
}

// Params returns the costs used for new hashes.
func (h *Passwords) Params() PasswordParams { return h.params }

// HashPassword returns the encoded argon2id hash of password with a fresh salt.
// Errors: KindUnavailable when too many calls are waiting for a slot.
func (h *Passwords) HashPassword(password string) (string, error) {
	p := h.params
	salt := make([]byte, p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", domain.Wrap(domain.KindInternal, err, "read random salt")
	}
	key, err := h.derive(password, salt, p)
	if err != nil {
		return "", err
	}
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Iterations, p.Parallelism,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// VerifyPassword checks password against encoded, with the parameters recorded
// in encoded. Errors: KindUnauthenticated on mismatch, KindInternal when
// encoded is not a hash this package can read, KindUnavailable when too many
// calls are waiting for a slot.
func (h *Passwords) VerifyPassword(encoded, password string) error {
	p, salt, want, err := decodeHash(encoded)
	if err != nil {
		return err
	}
	got, err := h.derive(password, salt, p)
	if err != nil {
		return err
	}
	if subtle.ConstantTimeCompare(got, want) != 1 {
		return domain.Errorf(domain.KindUnauthenticated, "wrong password")
	}
	return nil
}

// NeedsRehash reports whether encoded was made with other costs than the
// current ones (or cannot be read), so a caller that just verified the
// password may store a fresh hash.
func (h *Passwords) NeedsRehash(encoded string) bool {
	p, salt, key, err := decodeHash(encoded)
	if err != nil {
		return true
	}
	p.SaltLen, p.KeyLen = uint32(len(salt)), uint32(len(key))
	return p != h.params
}

// derive computes a key in one of the slots. Calls are admitted while fewer
// than the slots plus maxWaiting are in, and wait there for a slot.
func (h *Passwords) derive(password string, salt []byte, p PasswordParams) ([]byte, error) {
	if h.admitted.Add(1) > h.capacity {
		h.admitted.Add(-1)
		return nil, errBusy
	}
	defer h.admitted.Add(-1)
	h.slots <- struct{}{}
	defer func() { <-h.slots }()
	return h.key([]byte(password), salt, p), nil
}

func (p PasswordParams) check() error {
	switch {
	case p.Iterations < 1 || p.Iterations > maxIterations:
		return domain.Errorf(domain.KindInvalid, "argon2id iterations must be between 1 and %d", maxIterations)
	case p.Parallelism < 1:
		return domain.Errorf(domain.KindInvalid, "argon2id parallelism must be at least 1")
	case p.Memory < 8*uint32(p.Parallelism) || p.Memory > maxMemoryKiB:
		return domain.Errorf(domain.KindInvalid, "argon2id memory must be between 8*parallelism and %d KiB", maxMemoryKiB)
	case p.SaltLen < minSaltLen || p.SaltLen > maxSaltLen:
		return domain.Errorf(domain.KindInvalid, "argon2id salt length must be between %d and %d bytes", minSaltLen, maxSaltLen)
	case p.KeyLen < minKeyLen || p.KeyLen > maxKeyLen:
		return domain.Errorf(domain.KindInvalid, "argon2id key length must be between %d and %d bytes", minKeyLen, maxKeyLen)
	}
	return nil
}

var errMalformedHash = domain.Errorf(domain.KindInternal, "malformed password hash")

// decodeHash parses "$argon2id$v=19$m=M,t=T,p=P$salt$key".
func decodeHash(encoded string) (PasswordParams, []byte, []byte, error) {
	var p PasswordParams
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return p, nil, nil, errMalformedHash
	}
	params := strings.Split(parts[3], ",")
	if len(params) != 3 {
		return p, nil, nil, errMalformedHash
	}
	for i, name := range []string{"m=", "t=", "p="} {
		v, ok := strings.CutPrefix(params[i], name)
		if !ok {
			return p, nil, nil, errMalformedHash
		}
		bits := 32
		if name == "p=" {
			bits = 8
		}
		n, err := strconv.ParseUint(v, 10, bits)
		if err != nil {
			return p, nil, nil, errMalformedHash
		}
		switch name {
		case "m=":
			p.Memory = uint32(n)
		case "t=":
			p.Iterations = uint32(n)
		case "p=":
			p.Parallelism = uint8(n)
		}
	}
	b64 := base64.RawStdEncoding.Strict()
	salt, err := b64.DecodeString(parts[4])
	if err != nil {
		return p, nil, nil, errMalformedHash
	}
	key, err := b64.DecodeString(parts[5])
	if err != nil {
		return p, nil, nil, errMalformedHash
	}
	p.SaltLen, p.KeyLen = uint32(len(salt)), uint32(len(key))
	if p.check() != nil {
		return p, nil, nil, errMalformedHash
	}
	return p, salt, key, nil
}
