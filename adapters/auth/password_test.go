package auth_test

import (
	"encoding/base64"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/argon2"

	"github.com/messenger-go/messenger/adapters/auth"
	"github.com/messenger-go/messenger/domain"
)

func newPasswords(t *testing.T, p auth.PasswordParams) *auth.Passwords {
	t.Helper()
	h, err := auth.NewPasswords(auth.PasswordConfig{Params: p})
	require.NoError(t, err)
	return h
}

var phc = regexp.MustCompile(`^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$`)

func TestPasswordRoundTrip(t *testing.T) {
	h := newPasswords(t, auth.TestPasswordParams)
	for _, pw := range []string{"correct horse battery staple", "ünïcødé-pässwörd", strings.Repeat("x", domain.MaxPasswordBytes)} {
		enc, err := h.HashPassword(pw)
		require.NoError(t, err)
		m := phc.FindStringSubmatch(enc)
		require.NotNil(t, m, "not a PHC string: %s", enc)
		assert.Equal(t, []string{"64", "1", "1"}, m[1:4])
		require.NoError(t, h.VerifyPassword(enc, pw))

		err = h.VerifyPassword(enc, pw+"!")
		require.Error(t, err)
		assert.Equal(t, domain.KindUnauthenticated, domain.KindOf(err))
		assert.Equal(t, domain.KindUnauthenticated, domain.KindOf(h.VerifyPassword(enc, "")))
	}
}

func TestPasswordSaltsDiffer(t *testing.T) {
	h := newPasswords(t, auth.TestPasswordParams)
	a, err := h.HashPassword("same password")
	require.NoError(t, err)
	b, err := h.HashPassword("same password")
	require.NoError(t, err)
	assert.NotEqual(t, a, b)
}

func TestPasswordKnownAnswer(t *testing.T) {
	// A hash built independently with x/crypto/argon2 verifies, so the format
	// is the standard one other tools read and write.
	salt := []byte("0123456789abcdef")
	key := argon2.IDKey([]byte("hunter22"), salt, 3, 32, 2, 24)
	b64 := base64.RawStdEncoding
	enc := fmt.Sprintf("$argon2id$v=19$m=32,t=3,p=2$%s$%s", b64.EncodeToString(salt), b64.EncodeToString(key))

	h := newPasswords(t, auth.TestPasswordParams)
	require.NoError(t, h.VerifyPassword(enc, "hunter22"), "parameters come from the hash, not the hasher")
	assert.Equal(t, domain.KindUnauthenticated, domain.KindOf(h.VerifyPassword(enc, "hunter23")))
}

func TestPasswordDefaults(t *testing.T) {
	h, err := auth.NewPasswords(auth.PasswordConfig{})
	require.NoError(t, err)
	assert.Equal(t, auth.PasswordParams{Memory: 19456, Iterations: 2, Parallelism: 1, SaltLen: 16, KeyLen: 32}, h.Params())
	enc, err := h.HashPassword("default cost password")
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(enc, "$argon2id$v=19$m=19456,t=2,p=1$"), enc)
	require.NoError(t, h.VerifyPassword(enc, "default cost password"))
	assert.False(t, h.NeedsRehash(enc))

	cheap := newPasswords(t, auth.TestPasswordParams)
	assert.True(t, cheap.NeedsRehash(enc))
	assert.True(t, cheap.NeedsRehash("garbage"))
}

func TestPasswordMalformedHash(t *testing.T) {
	h := newPasswords(t, auth.TestPasswordParams)
	good, err := h.HashPassword("password1")
	require.NoError(t, err)
	parts := strings.Split(good, "$")
	with := func(i int, v string) string {
		p := append([]string(nil), parts...)
		p[i] = v
		return strings.Join(p, "$")
	}
	cases := []struct {
		name, encoded string
	}{
		{"empty", ""},
		{"garbage", "not a hash"},
		{"bcrypt", "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"},
		{"argon2i", with(1, "argon2i")},
		{"wrong version", with(2, "v=16")},
		{"params missing", with(3, "m=64,t=1")},
		{"params reordered", with(3, "t=1,m=64,p=1")},
		{"params not numbers", with(3, "m=x,t=1,p=1")},
		{"memory absurd", with(3, "m=99999999,t=1,p=1")},
		{"iterations zero", with(3, "m=64,t=0,p=1")},
		{"parallelism overflow", with(3, "m=64,t=1,p=300")},
		{"salt not base64", with(4, "!!!!")},
		{"salt too short", with(4, "AAAA")},
		{"hash not base64", with(5, "****")},
		{"hash too short", with(5, "AAAA")},
		{"extra field", good + "$x"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := h.VerifyPassword(tc.encoded, "password1")
			require.Error(t, err)
			assert.Equal(t, domain.KindInternal, domain.KindOf(err))
		})
	}
}

func TestPasswordParamsValidated(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    auth.PasswordParams
	}{
		{"memory below 8*parallelism", auth.PasswordParams{Memory: 8, Parallelism: 4}},
		{"memory too high", auth.PasswordParams{Memory: 1<<20 + 1}},
		{"salt too short", auth.PasswordParams{SaltLen: 4}},
		{"key too short", auth.PasswordParams{KeyLen: 8}},
		{"too many iterations", auth.PasswordParams{Iterations: 1000}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := auth.NewPasswords(auth.PasswordConfig{Params: tc.p})
			require.Error(t, err)
			assert.Equal(t, domain.KindInvalid, domain.KindOf(err))
		})
	}
}

func TestPasswordConcurrent(t *testing.T) {
	h, err := auth.NewPasswords(auth.PasswordConfig{Params: auth.TestPasswordParams, MaxConcurrent: 2, MaxWaiting: 14}) // room for all 16
	require.NoError(t, err)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pw := fmt.Sprintf("password-%d", i)
			enc, err := h.HashPassword(pw)
			if err == nil {
				err = h.VerifyPassword(enc, pw)
			}
			if err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// TestPasswordQueueIsBounded: with every slot busy and the queue full, a
// further call fails at once with KindUnavailable instead of waiting; the
// calls that were let in all finish.
func TestPasswordQueueIsBounded(t *testing.T) {
	for _, tc := range []struct {
		name string
		call func(h *auth.Passwords) error
	}{
		{"HashPassword", func(h *auth.Passwords) error { _, err := h.HashPassword("pw"); return err }},
		{"VerifyPassword", func(h *auth.Passwords) error {
			return h.VerifyPassword("$argon2id$v=19$m=64,t=1,p=1$MDEyMzQ1Njc4OWFiY2RlZg$MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY", "pw")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, err := auth.NewPasswords(auth.PasswordConfig{Params: auth.TestPasswordParams, MaxConcurrent: 2, MaxWaiting: 3})
			require.NoError(t, err)
			release := make(chan struct{})
			var running sync.WaitGroup
			running.Add(2)
			auth.SetKey(h, func(password, salt []byte) []byte {
				running.Done()
				<-release
				return make([]byte, 32)
			})

			var wg sync.WaitGroup
			errs := make(chan error, 5)
			for range 5 { // 2 in the slots, 3 waiting
				wg.Go(func() {
					if err := tc.call(h); err != nil && domain.KindOf(err) != domain.KindUnauthenticated {
						errs <- err
					}
				})
			}
			running.Wait()
			require.Eventually(t, func() bool { return auth.Waiting(h) == 3 }, 10*time.Second, time.Millisecond)

			err = tc.call(h) // on this goroutine: it must not block
			assert.Equal(t, domain.KindUnavailable, domain.KindOf(err), "a call beyond the queue: %v", err)

			running.Add(3)
			close(release)
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Errorf("a call let into the queue failed: %v", err)
			}
			assert.Zero(t, auth.Waiting(h))
		})
	}
}

func BenchmarkHashPassword(b *testing.B) {
	for _, bc := range []struct {
		name string
		p    auth.PasswordParams
	}{
		{"default", auth.DefaultPasswordParams},
		{"test", auth.TestPasswordParams},
	} {
		b.Run(bc.name, func(b *testing.B) {
			h, err := auth.NewPasswords(auth.PasswordConfig{Params: bc.p})
			require.NoError(b, err)
			for b.Loop() {
				if _, err := h.HashPassword("benchmark password"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
