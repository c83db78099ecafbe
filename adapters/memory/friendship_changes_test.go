package memory_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/adapters/memory"
	"github.com/messenger-go/messenger/domain"
)

func TestFriendshipChangesReachEveryWatcher(t *testing.T) {
	f := memory.NewFriendshipChanges()
	a, b := domain.NewUserID(), domain.NewUserID()
	var got1, got2 [][2]domain.UserID
	f.WatchFriendshipChanges(func(x, y domain.UserID) { got1 = append(got1, [2]domain.UserID{x, y}) }, func() { t.Error("lost called") })
	require.NoError(t, f.AnnounceFriendshipChange(context.Background(), a, b))
	f.WatchFriendshipChanges(func(x, y domain.UserID) { got2 = append(got2, [2]domain.UserID{x, y}) }, nil)
	require.NoError(t, f.AnnounceFriendshipChange(context.Background(), b, a))
	assert.Equal(t, [][2]domain.UserID{{a, b}, {b, a}}, got1, "before Announce returns, in order")
	assert.Equal(t, [][2]domain.UserID{{b, a}}, got2, "a later watcher hears later changes")
}
