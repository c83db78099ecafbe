package redis

import (
	"context"
	"errors"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
)

// ThrottleConfig configures a Throttle.
type ThrottleConfig struct {
	// Clock tells the time. Nodes compare their clocks' times, so they must
	// agree to well within a second (NTP). Default ports.SystemClock.
	Clock ports.Clock
}

// Throttle implements ports.Throttle with one hash per key,
// {prefix}throttle:{key} = {count, last, until, window} (times in Unix
// milliseconds), updated by one script, so every node counts the same
// attempts. The hash expires a window after the last attempt.
type Throttle struct {
	c     *Client
	clock ports.Clock
}

var _ ports.Throttle = (*Throttle)(nil)

// recordAttempt counts one attempt of KEYS[1] at ARGV[1] (ms): a count whose
// window (ARGV[2] ms after the last attempt) has passed starts again; the
// count-th attempt waits ARGV[count-free+4] ms with free = ARGV[3], the last
// of those waits once past the end. It returns the wait from now.
var recordAttempt = goredis.NewScript(`
local now, window, free = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local s = redis.call('HMGET', KEYS[1], 'count', 'last', 'until', 'window')
local count, untl = tonumber(s[1]) or 0, tonumber(s[3]) or 0
if count > 0 and now >= (tonumber(s[2]) or 0) + (tonumber(s[4]) or 0) then
	count, untl = 0, 0
end
count = count + 1
if count >= free then
	local wait = tonumber(ARGV[math.min(count - free + 4, #ARGV)])
	if now + wait > untl then untl = now + wait end
end
redis.call('HSET', KEYS[1], 'count', count, 'last', now, 'until', untl, 'window', window)
redis.call('PEXPIRE', KEYS[1], window)
return math.max(untl - now, 0)`)

// NewThrottle returns a Throttle on c.
func NewThrottle(c *Client, cfg ThrottleConfig) (*Throttle, error) {
	if c == nil {
		return nil, domain.Errorf(domain.KindInvalid, "redis throttle: nil client")
	}
	if cfg.Clock == nil {
		cfg.Clock = ports.SystemClock{}
	}
	return &Throttle{c: c, clock: cfg.Clock}, nil
}

// Check returns how long key must still wait.
func (t *Throttle) Check(ctx context.Context, key string) (time.Duration, error) {
	ctx, cancel := t.c.bound(ctx)
	defer cancel()
	s, err := t.c.rdb.HMGet(ctx, t.c.key("throttle", key), "last", "until", "window").Result()
	if err != nil {
		return 0, translate(err)
	}
	var f [3]int64
	for i, v := range s {
		str, _ := v.(string)
		f[i], _ = strconv.ParseInt(str, 10, 64)
	}
	last, until, window := f[0], f[1], f[2]
	now := t.clock.Now().UnixMilli()
	if now >= last+window {
		return 0, nil
	}
	return time.Duration(max(until-now, 0)) * time.Millisecond, nil
}

// Record counts one attempt of key under b and returns the wait it imposes.
func (t *Throttle) Record(ctx context.Context, key string, b ports.Backoff) (time.Duration, error) {
	if err := b.Validate(); err != nil {
		return 0, err
	}
	args := []any{t.clock.Now().UnixMilli(), b.Window.Milliseconds(), b.Free}
	for n := int64(b.Free); ; n++ {
		wait := b.WaitAfter(n)
		args = append(args, wait.Milliseconds())
		if wait >= b.MaxDelay {
			break
		}
	}
	ctx, cancel := t.c.bound(ctx)
	defer cancel()
	ms, err := recordAttempt.Run(ctx, t.c.rdb, []string{t.c.key("throttle", key)}, args...).Int64()
	if err != nil {
		if errors.Is(err, goredis.Nil) {
			err = errors.New("throttle script returned nothing")
		}
		return 0, translate(err)
	}
	return time.Duration(ms) * time.Millisecond, nil
}

// Reset forgets key.
func (t *Throttle) Reset(ctx context.Context, key string) error {
	ctx, cancel := t.c.bound(ctx)
	defer cancel()
	return translate(t.c.rdb.Del(ctx, t.c.key("throttle", key)).Err())
}
