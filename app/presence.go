package app

import (
	"context"
	"slices"
	"time"

	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
)

// DefaultPresenceDebounce is the default of Config.PresenceDebounce.
const DefaultPresenceDebounce = 1500 * time.Millisecond

// presenceQueue bounds the connection changes waiting for RunPresence; past
// it they are dropped (a missed presence event; the friends list stays
// right, it reads Presence).
const presenceQueue = 4096

// presenceChange is a user's first socket on this node opening (online) or
// the last one closing.
type presenceChange struct {
	user   domain.UserID
	online bool
	at     time.Time // by the App's clock: what lastSeenAt says
	due    time.Time // by the wall clock: when an offline is announced
}

var _ ports.ConnectionWatcher = (*App)(nil)

// UserConnected implements ports.ConnectionWatcher: the user's first socket
// on this node opened. RunPresence does the rest.
func (a *App) UserConnected(ctx context.Context, user domain.UserID) {
	a.queuePresence(ctx, presenceChange{user: user, online: true, at: a.now().UTC()})
}

// UserDisconnected implements ports.ConnectionWatcher: the user's last
// socket on this node closed.
func (a *App) UserDisconnected(ctx context.Context, user domain.UserID) {
	a.queuePresence(ctx, presenceChange{user: user, at: a.now().UTC(), due: time.Now().Add(a.cfg.PresenceDebounce)})
}

func (a *App) queuePresence(ctx context.Context, c presenceChange) {
	if a.cfg.Presence == nil {
		return
	}
	select {
	case a.presence <- c:
	default:
		// Logged once per thousand: a node shutting down with many users
		// fills the queue once RunPresence has stopped.
		if n := a.presenceDrops.Add(1); n%1000 == 1 {
			a.logger.WarnContext(ctx, "presence queue full; presence events are lost", "dropped", n)
		}
	}
}

// RunPresence announces presence until ctx ends, then returns nil. A user's
// first device connecting on this node, while no other node holds one,
// tells their friends they are online, and sends the user the friend events
// that came while they were away (newFriendRequest, friendRequestAccepted).
// The last device leaving starts the debounce; when it ends with the user
// back on no node, their lastSeenAt is stored and their friends are told
// they went offline. A reconnect within the debounce tells nobody anything.
// Only friends are told: a stranger or a blocked user learns nothing.
func (a *App) RunPresence(ctx context.Context) error {
	if a.cfg.Presence == nil {
		<-ctx.Done()
		return nil
	}
	// The debounce is the same for everyone, so offlines fall due in the
	// order they were queued: a FIFO, and the latest due time per user to
	// tell a live entry from a cancelled or superseded one.
	var waiting []presenceChange
	due := map[domain.UserID]time.Time{}
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		for len(waiting) > 0 {
			w := waiting[0]
			if d, ok := due[w.user]; !ok || !d.Equal(w.due) {
				waiting = waiting[1:] // back online, or left again later
				continue
			}
			if wait := time.Until(w.due); wait > 0 {
				timer.Reset(wait)
				break
			}
			waiting = waiting[1:]
			delete(due, w.user)
			a.wentOffline(ctx, w.user, w.at)
		}
		if len(waiting) == 0 {
			waiting = nil // let the backing array go
		}
		select {
		case <-ctx.Done():
			return nil
		case c := <-a.presence:
			switch _, away := due[c.user]; {
			case c.online && away:
				delete(due, c.user) // back within the debounce
			case c.online:
				a.cameOnline(ctx, c.user, c.at)
			default:
				due[c.user] = c.due
				waiting = append(waiting, c)
			}
		case <-timer.C:
		}
	}
}

// cameOnline announces user online to their friends, unless another node
// holds a socket of theirs already, and replays the friend events they
// missed.
func (a *App) cameOnline(ctx context.Context, user domain.UserID, at time.Time) {
	if a.onlineElsewhere(ctx, user) {
		return
	}
	u, err := a.cfg.Users.UserByID(ctx, user)
	if err != nil {
		a.logger.WarnContext(ctx, "presence: user not read", "user", user, "err", err)
		return
	}
	a.tellFriends(ctx, user, domain.PresencePayload{UserID: user, Online: true, LastSeenAt: &at})
	a.replayFriendEvents(ctx, user, u.LastSeenAt)
}

// wentOffline stores when user was last seen and tells their friends,
// unless a node holds a socket of theirs again.
func (a *App) wentOffline(ctx context.Context, user domain.UserID, at time.Time) {
	nodes, err := a.cfg.Presence.Nodes(ctx, user)
	if err != nil {
		a.logger.WarnContext(ctx, "presence: nodes not read; offline not announced", "user", user, "err", err)
		return
	}
	if len(nodes) > 0 {
		return // online elsewhere, or here again
	}
	u, err := a.cfg.Users.UpdateUser(ctx, user, func(u domain.User) (domain.User, error) {
		u.LastSeenAt = &at
		return u, nil
	})
	if err != nil {
		if domain.KindOf(err) != domain.KindNotFound { // a deleted account has no presence
			a.logger.WarnContext(ctx, "presence: last seen not stored", "user", user, "err", err)
		}
		return
	}
	// As stored (a store may keep less precision), so that the event and
	// the friends list agree.
	a.tellFriends(ctx, user, domain.PresencePayload{UserID: user, Online: false, LastSeenAt: u.LastSeenAt})
}

// onlineElsewhere reports whether a node other than this one holds a socket
// of user. When Presence cannot say, it answers no: a repeated online is
// better than a missing one.
func (a *App) onlineElsewhere(ctx context.Context, user domain.UserID) bool {
	nodes, err := a.cfg.Presence.Nodes(ctx, user)
	if err != nil {
		a.logger.WarnContext(ctx, "presence: nodes not read", "user", user, "err", err)
		return false
	}
	if a.cfg.Node == "" {
		return len(nodes) > 1
	}
	return slices.ContainsFunc(nodes, func(n ports.NodeID) bool { return n != a.cfg.Node })
}

// tellFriends sends p to user's friends' devices.
func (a *App) tellFriends(ctx context.Context, user domain.UserID, p domain.PresencePayload) {
	friends, err := a.cfg.Friends.Friends(ctx, user)
	if err != nil {
		a.logger.WarnContext(ctx, "presence: friends not read", "user", user, "err", err)
		return
	}
	if len(friends) == 0 {
		return
	}
	ids := make([]domain.UserID, len(friends))
	for i, f := range friends {
		ids[i] = f.ID
	}
	a.notify(ctx, ids, domain.Event{Name: domain.EventPresence, Data: p})
}

// Friends lists user's friends, each with whether a node holds a socket of
// theirs now and when they were last seen (now, when online). When
// Presence cannot say, every friend shows as last stored.
func (a *App) Friends(ctx context.Context, user domain.UserID) ([]domain.Friend, error) {
	users, err := a.cfg.Friends.Friends(ctx, user)
	if err != nil {
		return nil, err
	}
	out := make([]domain.Friend, len(users))
	for i, u := range users {
		out[i] = domain.Friend{User: u, LastSeenAt: u.LastSeenAt}
	}
	if a.cfg.Presence == nil || len(users) == 0 {
		return out, nil
	}
	ids := make([]domain.UserID, len(users))
	for i, u := range users {
		ids[i] = u.ID
	}
	nodes, err := a.nodesOf(ctx, ids)
	if err != nil {
		a.logger.WarnContext(ctx, "presence unavailable; friends shown offline", "err", err)
		return out, nil
	}
	now := a.now().UTC()
	for i := range out {
		if len(nodes[out[i].ID]) > 0 {
			out[i].Online, out[i].LastSeenAt = true, &now
		}
	}
	return out, nil
}

// nodesOf looks up the nodes of users, in one call when Presence can.
func (a *App) nodesOf(ctx context.Context, users []domain.UserID) (map[domain.UserID][]ports.NodeID, error) {
	if pl, ok := a.cfg.Presence.(ports.PresenceLookup); ok {
		return pl.NodesOf(ctx, users)
	}
	out := make(map[domain.UserID][]ports.NodeID, len(users))
	for _, u := range users {
		nodes, err := a.cfg.Presence.Nodes(ctx, u)
		if err != nil {
			return nil, err
		}
		out[u] = nodes
	}
	return out, nil
}
