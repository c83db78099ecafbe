package app_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/messenger-go/messenger/app"
	"github.com/messenger-go/messenger/ports"
)

// TestThrottledAttemptsAreAnsweredLater: a login its throttle refuses is
// answered ThrottledDelay later, with the wait that is left, so one
// connection cannot repeat refused attempts quickly.
func TestThrottledAttemptsAreAnsweredLater(t *testing.T) {
	const delay = 300 * time.Millisecond
	g := newGuarded(t, func(c *app.Config) {
		c.Guards.ThrottledDelay = delay
		c.Guards.LoginAccount = ports.Backoff{Free: 1, Delay: time.Hour, MaxDelay: time.Hour, Window: time.Hour}
	})
	g.register(t, "ann@example.com")
	_, err := g.app.Login(t.Context(), "ann@example.com", "wrong password!", addr1)
	assert.Error(t, err)

	start := time.Now()
	_, err = g.app.Login(t.Context(), "ann@example.com", goodPassword, addr1)
	assert.GreaterOrEqual(t, time.Since(start), delay, "the refusal waited")
	wait := retryAfter(t, err)
	assert.LessOrEqual(t, wait, time.Hour, "Retry-After is what is left of the wait")
	assert.Greater(t, wait, time.Hour-time.Minute)
}
