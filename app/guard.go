package app

import (
	"context"
	"errors"
	"net/netip"
	"time"

	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
)

// Default policies of Guards. An account gets 5 wrong passwords before it
// waits 1 s, then 2 s, 4 s ... up to 15 minutes; an address, shared by the
// users behind one NAT, gets 20. An address may register 10 accounts, then
// waits an hour.
var (
	DefaultLoginAccountBackoff = ports.Backoff{Free: 5, Delay: time.Second, MaxDelay: 15 * time.Minute, Window: time.Hour}
	DefaultLoginAddressBackoff = ports.Backoff{Free: 20, Delay: time.Second, MaxDelay: 15 * time.Minute, Window: time.Hour}
	DefaultRegistrationBackoff = ports.Backoff{Free: 10, Delay: time.Hour, MaxDelay: time.Hour, Window: time.Hour}
)

// DefaultUserCacheTTL is how long Authenticate reuses the answer to "does
// this user exist".
const DefaultUserCacheTTL = 15 * time.Second

// DefaultThrottledDelay is Guards.ThrottledDelay's default.
const DefaultThrottledDelay = time.Second

// Guards are the App's defences against abuse of its public entry points.
type Guards struct {
	// Throttle counts failed logins and registrations. Optional: nil
	// throttles neither (the server always sets one). Shared by the nodes of
	// a cluster when it is.
	Throttle ports.Throttle
	// LoginAccount is the policy for failed logins of one account (keyed by
	// normalised email, whether it exists or not). Default
	// DefaultLoginAccountBackoff.
	LoginAccount ports.Backoff
	// LoginAddress is the policy for failed logins from one client address
	// (an IPv6 address counts with its /64). Default
	// DefaultLoginAddressBackoff.
	LoginAddress ports.Backoff
	// Registration is the policy for registrations from one client address;
	// each attempt that passes validation counts. Default
	// DefaultRegistrationBackoff.
	Registration ports.Backoff
	// ThrottledDelay holds back the answer to a login or registration its
	// throttle refuses by that much (by the wait, when shorter), so that
	// one connection cannot repeat refused attempts quickly: a flood of
	// them costs the node one waiting request per connection, not a stream
	// of answers. The caller's context ends the pause early. Default
	// DefaultThrottledDelay; negative: answer at once.
	ThrottledDelay time.Duration
	// Search limits searches per user, under the keys "search:{userId}".
	// Optional: nil applies no limit.
	Search ports.RateLimiter
	// UserCacheTTL is how long Authenticate trusts that a user exists (or
	// does not), instead of reading the store on every request. Default
	// DefaultUserCacheTTL; negative: read every time.
	UserCacheTTL time.Duration
	// TypingInterval paces the typing indicators of each sender and
	// receiver on this node: a start goes out at most once per interval, a
	// stop once per start that went out, and the rest are dropped silently
	// (typingGate in typing.go). Default DefaultTypingInterval; negative:
	// every indicator goes out.
	TypingInterval time.Duration

	typing *typingGate // made by withDefaults
}

// withDefaults fills the zero fields of g and validates its policies.
func (g Guards) withDefaults() (Guards, error) {
	for _, p := range []struct {
		name   string
		policy *ports.Backoff
		def    ports.Backoff
	}{
		{"LoginAccount", &g.LoginAccount, DefaultLoginAccountBackoff},
		{"LoginAddress", &g.LoginAddress, DefaultLoginAddressBackoff},
		{"Registration", &g.Registration, DefaultRegistrationBackoff},
	} {
		if *p.policy == (ports.Backoff{}) {
			*p.policy = p.def
		}
		if err := p.policy.Validate(); err != nil {
			return g, errors.New("app: Config.Guards." + p.name + ": " + err.Error())
		}
	}
	if g.UserCacheTTL == 0 {
		g.UserCacheTTL = DefaultUserCacheTTL
	}
	if g.ThrottledDelay == 0 {
		g.ThrottledDelay = DefaultThrottledDelay
	}
	if g.TypingInterval == 0 {
		g.TypingInterval = DefaultTypingInterval
	}
	g.typing = newTypingGate(g.TypingInterval)
	return g, nil
}

// strike is one key a throttled attempt counts against, with its policy.
type strike struct {
	key    string
	policy ports.Backoff
}

// addressKey names a client address for counting: an IPv4 address alone,
// an IPv6 address with its /64, the block one subscriber usually holds.
func addressKey(addr netip.Addr) string {
	addr = addr.Unmap()
	if addr.Is6() {
		p, _ := addr.Prefix(64)
		return p.String()
	}
	return addr.String()
}

// throttled answers a *ports.LimitError when any of strikes must still wait,
// after Guards.ThrottledDelay. A throttle outage lets the attempt through:
// logins must not depend on it.
func (a *App) throttled(ctx context.Context, message string, strikes ...strike) error {
	if a.cfg.Guards.Throttle == nil {
		return nil
	}
	var wait time.Duration
	for _, s := range strikes {
		w, err := a.cfg.Guards.Throttle.Check(ctx, s.key)
		if err != nil {
			a.logger.WarnContext(ctx, "throttle unavailable; allowing", "key", s.key, "err", err)
			continue
		}
		wait = max(wait, w)
	}
	if wait > 0 {
		held := a.holdBack(ctx, min(wait, a.cfg.Guards.ThrottledDelay))
		return ports.Limited(wait-held, message)
	}
	return nil
}

// holdBack waits d, or until ctx ends, and returns how long it waited.
func (a *App) holdBack(ctx context.Context, d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	start := time.Now()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
	return time.Since(start)
}

// record counts an attempt against strikes.
func (a *App) record(ctx context.Context, strikes ...strike) {
	if a.cfg.Guards.Throttle == nil {
		return
	}
	for _, s := range strikes {
		if _, err := a.cfg.Guards.Throttle.Record(ctx, s.key, s.policy); err != nil {
			a.logger.WarnContext(ctx, "throttle unavailable; attempt not counted", "key", s.key, "err", err)
		}
	}
}

// forgive clears the count of s.
func (a *App) forgive(ctx context.Context, s strike) {
	if a.cfg.Guards.Throttle == nil {
		return
	}
	if err := a.cfg.Guards.Throttle.Reset(ctx, s.key); err != nil {
		a.logger.WarnContext(ctx, "throttle unavailable; count not cleared", "key", s.key, "err", err)
	}
}

// allowOn applies limiter, if any, under key. A limiter outage lets the
// request through: losing the limit for a while is better than losing the
// service.
func (a *App) allowOn(ctx context.Context, limiter ports.RateLimiter, key string) error {
	if limiter == nil {
		return nil
	}
	err := limiter.Allow(ctx, key)
	if err != nil && domain.KindOf(err) != domain.KindRateLimited {
		a.logger.WarnContext(ctx, "rate limiter unavailable; allowing", "key", key, "err", err)
		return nil
	}
	return err
}
