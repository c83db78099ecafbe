package memory

import (
	"context"
	"slices"
	"sync"

	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
)

// AccountChanges carries account changes between the Apps of one process:
// an announcement calls every registered watcher before it returns. Nothing
// is ever missed, so lost is never called. It implements
// ports.AccountChanges.
type AccountChanges struct {
	mu       sync.Mutex
	watchers []func(user domain.UserID)
}

var _ ports.AccountChanges = (*AccountChanges)(nil)

// NewAccountChanges returns an AccountChanges without watchers.
func NewAccountChanges() *AccountChanges { return &AccountChanges{} }

// AnnounceAccountChange calls every watcher's changed with user.
func (a *AccountChanges) AnnounceAccountChange(_ context.Context, user domain.UserID) error {
	a.mu.Lock()
	watchers := a.watchers
	a.mu.Unlock()
	for _, changed := range watchers {
		changed(user)
	}
	return nil
}

// WatchAccountChanges registers changed; lost is never called.
func (a *AccountChanges) WatchAccountChanges(changed func(user domain.UserID), _ func()) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.watchers = append(slices.Clip(a.watchers), changed) // readers keep their snapshot
}
