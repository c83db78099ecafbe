package app

import (
	"context"

	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
)

// UnreadCount answers from the cache when it can and fills it from the store
// when it cannot, unless the read took ports.UnreadFillWindow or more by the
// App's clock (an invalidation since may no longer hold the cache's Sets
// back). Cache failures only cost the cache.
func (a *App) UnreadCount(ctx context.Context, caller domain.UserID) (domain.UnreadCounts, error) {
	if a.cfg.Unread != nil {
		counts, ok, err := a.cfg.Unread.Get(ctx, caller)
		if err != nil {
			a.logger.WarnContext(ctx, "unread cache read failed", "err", err)
		} else if ok {
			return counts, nil
		}
	}
	start := a.now()
	counts, err := a.cfg.Inbox.UnreadCounts(ctx, caller)
	if err != nil {
		return domain.UnreadCounts{}, err
	}
	if a.cfg.Unread != nil && a.now().Sub(start) < ports.UnreadFillWindow {
		if err := a.cfg.Unread.Set(ctx, caller, counts); err != nil {
			a.logger.WarnContext(ctx, "unread cache write failed", "err", err)
		}
	}
	return counts, nil
}
