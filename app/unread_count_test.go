package app_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/adapters/memory"
	"github.com/messenger-go/messenger/app"
	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
)

// steppingClock is a clock a test moves by hand, from any goroutine.
type steppingClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *steppingClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *steppingClock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// slowInbox moves the clock by took during every unread count read, and
// counts the reads.
type slowInbox struct {
	ports.InboxStore
	clock *steppingClock
	took  time.Duration
	reads int
}

func (s *slowInbox) UnreadCounts(ctx context.Context, u domain.UserID) (domain.UnreadCounts, error) {
	s.reads++
	s.clock.advance(s.took)
	return s.InboxStore.UnreadCounts(ctx, u)
}

// setCounter counts the Sets that reach the unread cache.
type setCounter struct {
	ports.UnreadCache
	sets int
}

func (c *setCounter) Set(ctx context.Context, u domain.UserID, v domain.UnreadCounts) error {
	c.sets++
	return c.UnreadCache.Set(ctx, u, v)
}

// TestUnreadCountSlowReadIsNotCached drives the App's own guard: an answer
// whose read took ports.UnreadFillWindow or more by the App's clock may
// predate an invalidation the cache no longer holds Sets back for, so it is
// served but not cached. No invalidation is held when the reads start: only
// the App decides.
func TestUnreadCountSlowReadIsNotCached(t *testing.T) {
	tests := []struct {
		name   string
		took   time.Duration
		cached bool
	}{
		{name: "a read within the window is cached", took: ports.UnreadFillWindow - time.Millisecond, cached: true},
		{name: "a read that took the window is not", took: ports.UnreadFillWindow},
		{name: "a read that took longer is not", took: time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := &steppingClock{now: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
			var inbox *slowInbox
			var cache *setCounter
			w := newWorld(t, func(c *app.Config) {
				c.Clock = clock
				inbox = &slowInbox{InboxStore: c.Inbox, clock: clock}
				c.Inbox = inbox
				cache = &setCounter{UnreadCache: memory.NewUnreadCache(memory.UnreadCacheConfig{Clock: clock})}
				c.Unread = cache
			})
			ctx := context.Background()
			a, b := w.user(t, "ann"), w.user(t, "ben")
			_, err := w.app.HandleChatMessages(ctx, []ports.Record{record(t, draft(t, a, b, "1", "1"), 0)})
			require.NoError(t, err)
			clock.advance(time.Hour) // the message's invalidation is long over
			inbox.took, inbox.reads, cache.sets = tt.took, 0, 0

			u, err := w.app.UnreadCount(ctx, b)
			require.NoError(t, err)
			assert.Equal(t, int64(1), u.Total, "the answer of the read itself")
			u, err = w.app.UnreadCount(ctx, b)
			require.NoError(t, err)
			assert.Equal(t, int64(1), u.Total)
			if tt.cached {
				assert.Equal(t, 1, cache.sets)
				assert.Equal(t, 1, inbox.reads, "the second answer came from the cache")
				return
			}
			assert.Zero(t, cache.sets, "a slow read's answer reached the cache")
			assert.Equal(t, 2, inbox.reads, "each answer is read from the store")
		})
	}
}
