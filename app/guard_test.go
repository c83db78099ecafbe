package app_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/adapters/memory"
	"github.com/messenger-go/messenger/app"
	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
	"github.com/messenger-go/messenger/ports/portstest"
)

const goodPassword = "long enough password"

var (
	addr1 = netip.MustParseAddr("198.51.100.7")
	addr2 = netip.MustParseAddr("203.0.113.9")
)

// guarded is a world whose App has a memory throttle, a counting password
// hasher and a clock the test moves.
type guarded struct {
	*world
	clock  *portstest.Clock
	hashes *countingHasher
	users  *countingUsers
}

func newGuarded(t *testing.T, opts ...func(*app.Config)) *guarded {
	t.Helper()
	g := &guarded{clock: portstest.NewClock()}
	g.world = newWorld(t, append([]func(*app.Config){func(c *app.Config) {
		g.hashes = &countingHasher{PasswordHasher: c.Passwords}
		g.users = &countingUsers{UserStore: c.Users}
		c.Passwords, c.Users, c.Clock = g.hashes, g.users, g.clock
		c.Guards.Throttle = memory.NewThrottle(memory.ThrottleConfig{Clock: g.clock})
		c.Guards.ThrottledDelay = -1 // answers at once: the test's clock does not move timers
	}}, opts...)...)
	return g
}

func (g *guarded) register(t *testing.T, email string) domain.User {
	t.Helper()
	s, err := g.app.Register(t.Context(), domain.Registration{FirstName: "Ann", LastName: "Lee", Email: email, Password: goodPassword}, netip.Addr{})
	require.NoError(t, err)
	return s.User
}

// countingHasher counts the passwords checked, and fails them with fail when set.
type countingHasher struct {
	ports.PasswordHasher
	verified atomic.Int64
	fail     atomic.Pointer[error]
}

func (h *countingHasher) VerifyPassword(encoded, password string) error {
	if err := h.fail.Load(); err != nil {
		return *err
	}
	h.verified.Add(1)
	return h.PasswordHasher.VerifyPassword(encoded, password)
}

// countingUsers counts UserByID reads and hides the users in deleted.
type countingUsers struct {
	ports.UserStore
	reads   atomic.Int64
	mu      sync.Mutex
	deleted map[domain.UserID]bool
	fail    error
}

func (u *countingUsers) UserByID(ctx context.Context, id domain.UserID) (domain.User, error) {
	u.reads.Add(1)
	u.mu.Lock()
	gone, fail := u.deleted[id], u.fail
	u.mu.Unlock()
	switch {
	case fail != nil:
		return domain.User{}, fail
	case gone:
		return domain.User{}, domain.Errorf(domain.KindNotFound, "user not found")
	}
	return u.UserStore.UserByID(ctx, id)
}

func (u *countingUsers) delete(id domain.UserID) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.deleted == nil {
		u.deleted = map[domain.UserID]bool{}
	}
	u.deleted[id] = true
}

func (u *countingUsers) setFail(err error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.fail = err
}

// retryAfter returns the wait a rate-limit error announces, failing the test
// for any other error.
func retryAfter(t *testing.T, err error) time.Duration {
	t.Helper()
	require.Error(t, err)
	require.Equal(t, domain.KindRateLimited, domain.KindOf(err), "error %v", err)
	var le *ports.LimitError
	require.True(t, errors.As(err, &le), "a *ports.LimitError: %T", err)
	return le.RetryAfter()
}

func TestLoginThrottledPerAccount(t *testing.T) {
	g := newGuarded(t)
	g.register(t, "ann@example.com")
	ctx := t.Context()

	for i := range 5 {
		_, err := g.app.Login(ctx, "ann@example.com", "wrong password!", addr1)
		assert.Equal(t, domain.KindUnauthenticated, domain.KindOf(err), "failure %d", i+1)
	}
	verified := g.hashes.verified.Load()
	_, err := g.app.Login(ctx, "ANN@example.com", goodPassword, addr2)
	assert.Equal(t, time.Second, retryAfter(t, err), "after 5 failures the account waits 1 s, from any address, right password or not")
	assert.Equal(t, verified, g.hashes.verified.Load(), "no password is hashed while the account waits")

	for _, want := range []time.Duration{2 * time.Second, 4 * time.Second, 8 * time.Second} {
		g.clock.Add(time.Hour / 4)
		_, err := g.app.Login(ctx, "ann@example.com", "wrong password!", addr1)
		require.Equal(t, domain.KindUnauthenticated, domain.KindOf(err))
		_, err = g.app.Login(ctx, "ann@example.com", goodPassword, addr1)
		assert.Equal(t, want, retryAfter(t, err), "each further failure doubles the wait")
	}

	g.clock.Add(8 * time.Second)
	s, err := g.app.Login(ctx, "ann@example.com", goodPassword, addr1)
	require.NoError(t, err, "once the wait is over the right password works")
	assert.NotEmpty(t, s.AccessToken)

	for i := range 4 {
		_, err := g.app.Login(ctx, "ann@example.com", "wrong password!", addr1)
		assert.Equal(t, domain.KindUnauthenticated, domain.KindOf(err), "failure %d after the success", i+1)
	}
	_, err = g.app.Login(ctx, "ann@example.com", goodPassword, addr1)
	require.NoError(t, err, "the success cleared the account's count")
}

func TestLoginThrottledForUnknownEmails(t *testing.T) {
	g := newGuarded(t)
	for range 5 {
		_, err := g.app.Login(t.Context(), "nobody@example.com", "wrong password!", netip.Addr{})
		require.Equal(t, domain.KindUnauthenticated, domain.KindOf(err))
	}
	_, err := g.app.Login(t.Context(), "nobody@example.com", "wrong password!", netip.Addr{})
	assert.Equal(t, time.Second, retryAfter(t, err), "an unknown email is throttled like a known one")
}

func TestLoginThrottledPerAddress(t *testing.T) {
	g := newGuarded(t)
	ctx := t.Context()
	g.register(t, "ann@example.com")
	for i := range 20 { // one failure each on 20 accounts: no account waits
		_, err := g.app.Login(ctx, fmt.Sprintf("user%d@example.com", i), "wrong password!", addr1)
		require.Equal(t, domain.KindUnauthenticated, domain.KindOf(err))
	}
	_, err := g.app.Login(ctx, "ann@example.com", goodPassword, addr1)
	assert.Equal(t, time.Second, retryAfter(t, err), "the address waits after 20 failures")
	_, err = g.app.Login(ctx, "ann@example.com", goodPassword, netip.MustParseAddr("::ffff:198.51.100.7"))
	assert.Equal(t, domain.KindRateLimited, domain.KindOf(err), "the same address written as IPv4-mapped IPv6")

	_, err = g.app.Login(ctx, "ann@example.com", goodPassword, addr2)
	require.NoError(t, err, "another address is not affected")
}

func TestLoginThrottlesIPv6ByPrefix(t *testing.T) {
	g := newGuarded(t, func(c *app.Config) {
		c.Guards.LoginAddress = ports.Backoff{Free: 3, Delay: time.Second, MaxDelay: time.Minute, Window: time.Hour}
	})
	for i := range 3 {
		from := netip.MustParseAddr(fmt.Sprintf("2001:db8:1:2::%x", i+1))
		_, err := g.app.Login(t.Context(), fmt.Sprintf("user%d@example.com", i), "wrong password!", from)
		require.Equal(t, domain.KindUnauthenticated, domain.KindOf(err))
	}
	_, err := g.app.Login(t.Context(), "other@example.com", "wrong password!", netip.MustParseAddr("2001:db8:1:2:ffff::1"))
	assert.Equal(t, domain.KindRateLimited, domain.KindOf(err), "the same /64")
	_, err = g.app.Login(t.Context(), "other@example.com", "wrong password!", netip.MustParseAddr("2001:db8:1:3::1"))
	assert.Equal(t, domain.KindUnauthenticated, domain.KindOf(err), "another /64")
}

func TestLoginWhenHashingIsFull(t *testing.T) {
	g := newGuarded(t)
	g.register(t, "ann@example.com")
	busy := domain.Errorf(domain.KindUnavailable, "too many passwords are being checked")
	g.hashes.fail.Store(&busy)
	for range 10 {
		_, err := g.app.Login(t.Context(), "ann@example.com", "wrong password!", addr1)
		assert.Equal(t, domain.KindUnavailable, domain.KindOf(err))
	}
	g.hashes.fail.Store(nil)
	_, err := g.app.Login(t.Context(), "ann@example.com", goodPassword, addr1)
	require.NoError(t, err, "refused attempts are not failures: the account does not wait")
}

// failingThrottle is a throttle whose store is down.
type failingThrottle struct{}

var errThrottleDown = domain.Errorf(domain.KindUnavailable, "throttle down")

func (failingThrottle) Check(context.Context, string) (time.Duration, error) {
	return 0, errThrottleDown
}

func (failingThrottle) Record(context.Context, string, ports.Backoff) (time.Duration, error) {
	return 0, errThrottleDown
}
func (failingThrottle) Reset(context.Context, string) error { return errThrottleDown }

func TestLoginWhenTheThrottleIsDown(t *testing.T) {
	w := newWorld(t, func(c *app.Config) { c.Guards.Throttle = failingThrottle{} })
	_, err := w.app.Register(t.Context(), domain.Registration{FirstName: "Ann", LastName: "Lee", Email: "ann@example.com", Password: goodPassword}, addr1)
	require.NoError(t, err)
	for range 10 {
		_, err := w.app.Login(t.Context(), "ann@example.com", "wrong password!", addr1)
		require.Equal(t, domain.KindUnauthenticated, domain.KindOf(err))
	}
	_, err = w.app.Login(t.Context(), "ann@example.com", goodPassword, addr1)
	require.NoError(t, err, "an outage of the throttle does not stop logins")
}

func TestRegistrationThrottledPerAddress(t *testing.T) {
	g := newGuarded(t)
	ctx := t.Context()
	reg := func(i int, from netip.Addr) error {
		_, err := g.app.Register(ctx, domain.Registration{
			FirstName: "Ann", LastName: "Lee", Email: fmt.Sprintf("ann%d@example.com", i), Password: goodPassword,
		}, from)
		return err
	}
	for i := range 10 {
		require.NoError(t, reg(i, addr1), "registration %d", i+1)
	}
	assert.Equal(t, time.Hour, retryAfter(t, reg(10, addr1)), "the 11th registration from one address waits an hour")
	_, err := g.users.UserByEmail(ctx, "ann10@example.com")
	assert.True(t, errors.Is(err, domain.ErrNotFound), "nothing was created")
	require.NoError(t, reg(11, addr2), "another address may register")

	g.clock.Add(time.Hour)
	require.NoError(t, reg(12, addr1), "an hour later the address may register again")

	_, err = g.app.Register(ctx, domain.Registration{FirstName: "", LastName: "Lee", Email: "x@example.com", Password: goodPassword}, addr2)
	assert.Equal(t, domain.KindInvalid, domain.KindOf(err), "invalid input is refused before it counts")
}

func TestAuthenticateRefusesUnknownUsers(t *testing.T) {
	g := newGuarded(t, func(c *app.Config) { c.Guards.UserCacheTTL = 10 * time.Second })
	ctx := t.Context()
	ann := g.register(t, "ann@example.com")
	bob := g.register(t, "bob@example.com")
	s, err := g.app.Login(ctx, "ann@example.com", goodPassword, addr1)
	require.NoError(t, err)
	bobSession, err := g.app.Login(ctx, "bob@example.com", goodPassword, addr1)
	require.NoError(t, err)

	user, _, err := g.app.Authenticate(ctx, s.AccessToken)
	require.NoError(t, err)
	assert.Equal(t, ann.ID, user)
	reads := g.users.reads.Load()
	for range 5 {
		_, _, err := g.app.Authenticate(ctx, s.AccessToken)
		require.NoError(t, err)
	}
	assert.Equal(t, reads, g.users.reads.Load(), "within the TTL a request reads no user")

	g.users.delete(ann.ID)
	_, _, err = g.app.Authenticate(ctx, s.AccessToken)
	require.NoError(t, err, "a deletion elsewhere is seen when the entry expires")
	g.clock.Add(10 * time.Second)
	_, _, err = g.app.Authenticate(ctx, s.AccessToken)
	assert.Equal(t, domain.KindUnauthenticated, domain.KindOf(err), "a deleted user's token is refused")
	reads = g.users.reads.Load()
	_, _, err = g.app.Authenticate(ctx, s.AccessToken)
	assert.Equal(t, domain.KindUnauthenticated, domain.KindOf(err))
	assert.Equal(t, reads, g.users.reads.Load(), "the refusal is remembered too")

	_, _, err = g.app.Authenticate(ctx, bobSession.AccessToken)
	require.NoError(t, err)
	g.users.delete(bob.ID)
	app.ForgetUser(g.app, bob.ID)
	_, _, err = g.app.Authenticate(ctx, bobSession.AccessToken)
	assert.Equal(t, domain.KindUnauthenticated, domain.KindOf(err), "Forget takes effect at once")
}

func TestAuthenticateWhenTheStoreIsDown(t *testing.T) {
	g := newGuarded(t, func(c *app.Config) { c.Guards.UserCacheTTL = 10 * time.Second })
	ctx := t.Context()
	g.register(t, "ann@example.com")
	s, err := g.app.Login(ctx, "ann@example.com", goodPassword, addr1)
	require.NoError(t, err)
	_, _, err = g.app.Authenticate(ctx, s.AccessToken)
	require.NoError(t, err)

	g.users.setFail(domain.Errorf(domain.KindUnavailable, "store down"))
	g.clock.Add(time.Minute)
	_, _, err = g.app.Authenticate(ctx, s.AccessToken)
	require.NoError(t, err, "a user known to exist stays accepted while the store cannot answer")

	g.register(t, "bob@example.com")
	b, err := g.app.Login(ctx, "bob@example.com", goodPassword, addr1)
	require.NoError(t, err)
	_, _, err = g.app.Authenticate(ctx, b.AccessToken)
	assert.Equal(t, domain.KindUnavailable, domain.KindOf(err), "an unknown one cannot be checked")
}

func TestSearchRateLimitedPerUser(t *testing.T) {
	clock := portstest.NewClock()
	limiter, err := memory.NewRateLimiter(memory.RateLimiterConfig{PerSecond: 1, Burst: 3, Clock: clock})
	require.NoError(t, err)
	w := newWorld(t, func(c *app.Config) { c.Guards.Search = limiter })
	ann, bob := w.user(t, "Ann"), w.user(t, "Bob")
	for i := range 3 {
		_, err := w.app.SearchUsers(t.Context(), ann, "Bo")
		require.NoError(t, err, "search %d", i+1)
	}
	_, err = w.app.SearchUsers(t.Context(), ann, "Bo")
	assert.Equal(t, domain.KindRateLimited, domain.KindOf(err), "the fourth search at once")
	_, err = w.app.SearchUsers(t.Context(), bob, "An")
	require.NoError(t, err, "another user has a budget of its own")
	clock.Add(time.Second)
	_, err = w.app.SearchUsers(t.Context(), ann, "Bo")
	require.NoError(t, err)
}

func TestSearchShowsOnlyWhatTheCallerMaySee(t *testing.T) {
	w := newWorld(t)
	ctx := t.Context()
	reg := func(first, email string) domain.UserID {
		s, err := w.app.Register(ctx, domain.Registration{FirstName: first, LastName: "Search", Email: email, Password: goodPassword}, netip.Addr{})
		require.NoError(t, err)
		return s.User.ID
	}
	caller := reg("Carol", "carol@example.com")
	friend := reg("Bobby", "bobby@example.com")
	stranger := reg("Bob", "bob@example.com")
	blocker := reg("Bobo", "bobo@example.com")
	w.friends(t, caller, friend)
	_, err := w.app.Block(ctx, blocker, caller)
	require.NoError(t, err)

	users, err := w.app.SearchUsers(ctx, caller, "bob")
	require.NoError(t, err)
	emails := map[domain.UserID]string{}
	for _, u := range users {
		emails[u.ID] = u.Email
	}
	assert.Equal(t, map[domain.UserID]string{friend: "bobby@example.com", stranger: ""}, emails,
		"names match; a friend's email is shown, a stranger's is not; whoever blocked the caller is hidden")

	users, err = w.app.SearchUsers(ctx, caller, "bob@")
	require.NoError(t, err)
	assert.Empty(t, users, "an email prefix finds nobody")
	users, err = w.app.SearchUsers(ctx, caller, "  Bob@Example.com ")
	require.NoError(t, err)
	require.Len(t, users, 1, "the exact email finds its user")
	assert.Equal(t, stranger, users[0].ID)
	assert.Empty(t, users[0].Email)
}
