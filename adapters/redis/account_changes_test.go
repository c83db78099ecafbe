package redis_test

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/domain"
)

// accountLog records what a node's account-change watchers were told.
type accountLog struct {
	mu    sync.Mutex
	users []domain.UserID
	lost  int
}

func (l *accountLog) has(u domain.UserID) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Contains(l.users, u)
}

func (l *accountLog) losses() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lost
}

func watchAccounts(n *node) *accountLog {
	l := &accountLog{}
	n.fanout.WatchAccountChanges(func(u domain.UserID) {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.users = append(l.users, u)
	}, func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.lost++
	})
	return l
}

func TestFanoutAccountChanges(t *testing.T) {
	e := redisEnv(t)
	u1, u2 := domain.NewUserID(), domain.NewUserID()
	n1, n2 := startNode(t, e, "n1", u1), startNode(t, e, "n2", u2)
	acc1, acc2 := watchAccounts(n1), watchAccounts(n2)
	friends2 := watch(n2)
	untilRouted(t, n1, n2, u2, 5*time.Second)
	untilRouted(t, n2, n1, u1, 5*time.Second)

	gone := domain.NewUserID()
	require.NoError(t, n1.fanout.AnnounceAccountChange(t.Context(), gone))
	require.Eventually(t, func() bool { return acc1.has(gone) && acc2.has(gone) }, 5*time.Second, 5*time.Millisecond,
		"every node hears the change, the announcing one included")
	friends2.mu.Lock()
	assert.Empty(t, friends2.changes, "an account change is not a friendship change")
	friends2.mu.Unlock()

	before := acc2.losses()
	killSubscription(t, e, n2)
	require.Eventually(t, func() bool { return acc2.losses() > before }, 10*time.Second, 5*time.Millisecond,
		"account watchers are told when changes may have been missed")
	next := domain.NewUserID()
	require.Eventually(t, func() bool {
		require.NoError(t, n1.fanout.AnnounceAccountChange(t.Context(), next))
		return acc2.has(next)
	}, 10*time.Second, 50*time.Millisecond)
}
