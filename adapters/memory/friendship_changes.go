package memory

import (
	"context"
	"slices"
	"sync"

	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
)

// FriendshipChanges carries friendship changes between the Apps of one
// process: an announcement calls every registered watcher before it returns.
// Nothing is ever missed, so lost is never called. It implements
// ports.FriendshipChanges.
type FriendshipChanges struct {
	mu       sync.Mutex
	watchers []func(a, b domain.UserID)
}

var _ ports.FriendshipChanges = (*FriendshipChanges)(nil)

// NewFriendshipChanges returns a FriendshipChanges without watchers.
func NewFriendshipChanges() *FriendshipChanges { return &FriendshipChanges{} }

// AnnounceFriendshipChange calls every watcher's changed with a and b.
func (f *FriendshipChanges) AnnounceFriendshipChange(_ context.Context, a, b domain.UserID) error {
	f.mu.Lock()
	watchers := f.watchers
	f.mu.Unlock()
	for _, changed := range watchers {
		changed(a, b)
	}
	return nil
}

// WatchFriendshipChanges registers changed; lost is never called.
func (f *FriendshipChanges) WatchFriendshipChanges(changed func(a, b domain.UserID), _ func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.watchers = append(slices.Clip(f.watchers), changed) // readers keep their snapshot
}
