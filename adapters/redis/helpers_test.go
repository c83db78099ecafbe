package redis_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/adapters/redis"
	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/testenv"
)

// env is where the test Redis runs.
type env struct {
	Addr, MasterName, Password string
	Sentinels                  []string
	Prefix                     string
}

// redisEnv returns the shared test Redis (through its Sentinels when it has
// them) under a key prefix of the calling test's own; it fails the test when
// there is no Redis.
func redisEnv(t *testing.T) env {
	t.Helper()
	r := testenv.Redis(t)
	return env{Addr: r.Addr, MasterName: r.MasterName, Password: r.Password, Sentinels: r.Sentinels, Prefix: r.Prefix}
}

// config is the adapter configuration of e: through the Sentinels when there
// are any.
func (e env) config() redis.Config {
	cfg := redis.Config{Password: e.Password, KeyPrefix: e.Prefix}
	if len(e.Sentinels) > 0 {
		cfg.MasterName, cfg.Sentinels, cfg.SentinelPassword = e.MasterName, e.Sentinels, e.Password
	} else {
		cfg.Addr = e.Addr
	}
	return cfg
}

// open returns a client through the Sentinels, closed at the end of the test.
func open(t *testing.T, e env) *redis.Client {
	t.Helper()
	c, err := redis.Open(e.config())
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// raw returns a plain go-redis client on the current master, to look at keys
// the adapter wrote.
func raw(t *testing.T, e env) *goredis.Client {
	t.Helper()
	var rdb *goredis.Client
	if len(e.Sentinels) > 0 {
		rdb = goredis.NewFailoverClient(&goredis.FailoverOptions{
			MasterName:       e.MasterName,
			SentinelAddrs:    e.Sentinels,
			Password:         e.Password,
			SentinelPassword: e.Password,
		})
	} else {
		rdb = goredis.NewClient(&goredis.Options{Addr: e.Addr, Password: e.Password})
	}
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// keys lists the keys under prefix.
func keys(t *testing.T, rdb *goredis.Client, prefix string) []string {
	t.Helper()
	var out []string
	iter := rdb.Scan(t.Context(), 0, prefix+"*", 1000).Iterator()
	for iter.Next(t.Context()) {
		out = append(out, iter.Val())
	}
	require.NoError(t, iter.Err())
	return out
}

// recorder is a fake local hub: it records the events it is asked to deliver
// to the users connected to it, and drops the others as a hub would.
type recorder struct {
	mu        sync.Mutex
	connected map[domain.UserID]bool
	got       []delivery
	notify    chan struct{}
}

// delivery is one event for one user, with the JSON a socket would write.
type delivery struct {
	User domain.UserID
	Name string
	JSON string
}

func newRecorder(connected ...domain.UserID) *recorder {
	r := &recorder{connected: make(map[domain.UserID]bool), notify: make(chan struct{}, 1)}
	for _, u := range connected {
		r.connected[u] = true
	}
	return r
}

func (r *recorder) Notify(_ context.Context, users []domain.UserID, ev domain.Event) error {
	b, err := json.Marshal(ev)
	if err != nil {
		return domain.Wrap(domain.KindInvalid, err, "event does not encode as JSON") // as the hub does
	}
	r.mu.Lock()
	for _, u := range users {
		if r.connected[u] {
			r.got = append(r.got, delivery{User: u, Name: ev.Name, JSON: string(b)})
		}
	}
	r.mu.Unlock()
	select {
	case r.notify <- struct{}{}:
	default:
	}
	return nil
}

// of returns what was delivered to user, in order.
func (r *recorder) of(user domain.UserID) []delivery {
	var out []delivery
	for _, d := range r.deliveries() {
		if d.User == user {
			out = append(out, d)
		}
	}
	return out
}

// deliveries returns a copy of what was delivered so far.
func (r *recorder) deliveries() []delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]delivery(nil), r.got...)
}

// waitFor waits until cond holds over the deliveries or the timeout passes.
func (r *recorder) waitFor(timeout time.Duration, cond func([]delivery) bool) bool {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		if cond(r.deliveries()) {
			return true
		}
		select {
		case <-r.notify:
		case <-deadline.C:
			return cond(r.deliveries())
		}
	}
}
