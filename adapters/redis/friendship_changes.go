package redis

import (
	"context"
	"slices"
	"strings"

	"github.com/messenger-go/messenger/domain"
)

// AnnounceFriendshipChange implements ports.FriendshipChanges: one PUBLISH on
// {prefix}friendship-changes, which the Run of every node receives (this
// node's included) and hands to its watchers. Errors: KindUnavailable.
func (f *Fanout) AnnounceFriendshipChange(ctx context.Context, a, b domain.UserID) error {
	ctx, cancel := f.c.bound(ctx)
	defer cancel()
	return translate(f.c.rdb.Publish(ctx, f.changes, string(a)+" "+string(b)).Err())
}

// WatchFriendshipChanges implements ports.FriendshipChanges. Run calls changed
// for each announcement, and lost each time it subscribes (at start and after
// every break of the subscription, when announcements may have been missed).
// Watchers receive nothing while Run is not running.
func (f *Fanout) WatchFriendshipChanges(changed func(a, b domain.UserID), lost func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.changed = append(slices.Clip(f.changed), changed) // Run keeps its snapshot
	f.lost = append(slices.Clip(f.lost), lost)
}

func (f *Fanout) watchers() ([]func(a, b domain.UserID), []func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.changed, f.lost
}

func (f *Fanout) friendshipChanged(payload string) {
	if user, ok := strings.CutPrefix(payload, accountChangePrefix); ok {
		f.accountChanged(user)
		return
	}
	a, b, ok := strings.Cut(payload, " ")
	if !ok || a == "" || b == "" {
		f.c.log.Warn("redis fanout: dropping undecodable friendship change", "node", f.node, "payload", payload)
		return
	}
	changed, _ := f.watchers()
	for _, fn := range changed {
		fn(domain.UserID(a), domain.UserID(b))
	}
}
