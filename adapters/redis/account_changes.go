package redis

import (
	"context"
	"slices"

	"github.com/messenger-go/messenger/domain"
)

// accountChangePrefix starts an account change on the channel of friendship
// changes, whose other payloads are two ids joined by a space.
const accountChangePrefix = "account:"

// AnnounceAccountChange implements ports.AccountChanges: one PUBLISH on
// {prefix}friendship-changes (the channel every node's Run already
// receives), which Run hands to the account watchers of every node, this
// one's included. Errors: KindUnavailable.
func (f *Fanout) AnnounceAccountChange(ctx context.Context, user domain.UserID) error {
	ctx, cancel := f.c.bound(ctx)
	defer cancel()
	return translate(f.c.rdb.Publish(ctx, f.changes, accountChangePrefix+string(user)).Err())
}

// WatchAccountChanges implements ports.AccountChanges. Run calls changed for
// each announcement, and lost each time it subscribes (at start and after
// every break of the subscription). Watchers receive nothing while Run is
// not running.
func (f *Fanout) WatchAccountChanges(changed func(user domain.UserID), lost func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.accounts = append(slices.Clip(f.accounts), changed) // Run keeps its snapshot
	f.lost = append(slices.Clip(f.lost), lost)
}

func (f *Fanout) accountChanged(user string) {
	if user == "" {
		f.c.log.Warn("redis fanout: dropping an account change without a user", "node", f.node)
		return
	}
	f.mu.Lock()
	watchers := f.accounts
	f.mu.Unlock()
	for _, fn := range watchers {
		fn(domain.UserID(user))
	}
}
