package app

import (
	"context"
	"encoding/json"
	"time"

	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
)

// friendEvent is a record of the friend-events topic.
type friendEvent struct {
	Type   string        `json:"type"` // friendRequested, friendAccepted or friendRemoved
	FromID domain.UserID `json:"fromId"`
	ToID   domain.UserID `json:"toId"`
	At     time.Time     `json:"at"`
}

const (
	friendRequested = "friendRequested" // FromID asked ToID
	friendAccepted  = "friendAccepted"  // FromID accepted ToID's request
	friendRemoved   = "friendRemoved"   // FromID ended the friendship with ToID
)

// SendFriendRequest asks to befriend to, or accepts to's request if there is one.
func (a *App) SendFriendRequest(ctx context.Context, from, to domain.UserID) (domain.Friendship, error) {
	if from == to {
		return domain.Friendship{}, domain.Errorf(domain.KindInvalid, "cannot befriend yourself")
	}
	if _, err := a.cfg.Users.UserByID(ctx, to); err != nil {
		return domain.Friendship{}, err
	}
	now := a.now().UTC()
	var accepted bool
	f, err := a.cfg.Friends.UpdateFriendship(ctx, from, to, func(cur domain.Friendship) (domain.Friendship, error) {
		next, acc, err := cur.Request(from, to, now)
		accepted = acc
		return next, err
	})
	if err != nil {
		return domain.Friendship{}, err
	}
	typ := friendRequested
	if accepted {
		typ = friendAccepted
	}
	a.publishFriendEvent(ctx, friendEvent{Type: typ, FromID: from, ToID: to, At: now})
	return f, nil
}

// AcceptFriendRequest accepts requester's pending request to by.
func (a *App) AcceptFriendRequest(ctx context.Context, by, requester domain.UserID) (domain.Friendship, error) {
	if by == requester {
		return domain.Friendship{}, domain.Errorf(domain.KindInvalid, "cannot befriend yourself")
	}
	now := a.now().UTC()
	f, err := a.cfg.Friends.UpdateFriendship(ctx, by, requester, func(cur domain.Friendship) (domain.Friendship, error) {
		return cur.Accept(by, now)
	})
	if err != nil {
		return domain.Friendship{}, err
	}
	a.publishFriendEvent(ctx, friendEvent{Type: friendAccepted, FromID: by, ToID: requester, At: now})
	return f, nil
}

// DeclineFriendRequest refuses requester's pending request to by. The
// requester is not told: their request simply stays unanswered, and they may
// ask again.
func (a *App) DeclineFriendRequest(ctx context.Context, by, requester domain.UserID) error {
	return a.endRelation(ctx, by, requester, domain.Friendship.Decline)
}

// CancelFriendRequest withdraws by's pending request to addressee, which
// leaves the addressee's pending list.
func (a *App) CancelFriendRequest(ctx context.Context, by, addressee domain.UserID) error {
	return a.endRelation(ctx, by, addressee, domain.Friendship.Cancel)
}

// endRelation applies end, a transition of domain.Friendship taken by by,
// to the relation of by and other.
func (a *App) endRelation(ctx context.Context, by, other domain.UserID, end func(domain.Friendship, domain.UserID, time.Time) (domain.Friendship, error)) error {
	if by == other {
		return domain.Errorf(domain.KindInvalid, "friendId must be another user")
	}
	now := a.now().UTC()
	_, err := a.cfg.Friends.UpdateFriendship(ctx, by, other, func(cur domain.Friendship) (domain.Friendship, error) {
		return end(cur, by, now)
	})
	return err
}

// publishFriendEvent queues the notification of a stored friendship change. A
// failure degrades the notification only: the change is stored and the pending
// and friends lists show it.
func (a *App) publishFriendEvent(ctx context.Context, ev friendEvent) {
	value, err := json.Marshal(ev)
	if err == nil {
		err = a.cfg.Log.Publish(ctx, ports.TopicFriendEvents, []byte(ev.ToID), value)
	}
	if err != nil {
		a.logger.WarnContext(ctx, "friend event not published", "type", ev.Type, "from", ev.FromID, "to", ev.ToID, "err", err)
	}
}

// HandleFriendEvents is the friend-events-group handler: it tells the addressee
// of a request (newFriendRequest) and the requester of an acceptance
// (friendRequestAccepted), each with the other user, and both sides of an
// ended friendship (friendRemoved), each with the other's id.
func (a *App) HandleFriendEvents(ctx context.Context, batch []ports.Record) ([]ports.Rejection, error) {
	var rejected []ports.Rejection
	for _, rec := range batch {
		var ev friendEvent
		if err := json.Unmarshal(rec.Value, &ev); err != nil {
			rejected = append(rejected, ports.Rejection{Record: rec, Reason: "undecodable friend event: " + err.Error()})
			continue
		}
		name := domain.EventNewFriendRequest
		switch ev.Type {
		case friendRequested:
		case friendAccepted:
			name = domain.EventFriendRequestAccepted
		case friendRemoved:
			a.notifyAll(ctx, []ports.Notification{
				{Users: []domain.UserID{ev.ToID}, Event: domain.Event{Name: domain.EventFriendRemoved, Data: domain.UserIDPayload{UserID: ev.FromID}}},
				{Users: []domain.UserID{ev.FromID}, Event: domain.Event{Name: domain.EventFriendRemoved, Data: domain.UserIDPayload{UserID: ev.ToID}}},
			})
			continue
		default:
			rejected = append(rejected, ports.Rejection{Record: rec, Reason: "unknown friend event type " + ev.Type})
			continue
		}
		from, err := a.cfg.Users.UserByID(ctx, ev.FromID)
		switch {
		case domain.KindOf(err) == domain.KindNotFound || domain.KindOf(err) == domain.KindInvalid:
			rejected = append(rejected, ports.Rejection{Record: rec, Reason: "friend event of unknown user: " + err.Error()})
			continue
		case err != nil:
			return nil, err
		}
		a.notify(ctx, []domain.UserID{ev.ToID}, domain.Event{Name: name, Data: domain.UserPayload{User: from}})
	}
	return rejected, nil
}

// notify pushes ev and logs a failure: notifications are best effort, every
// message they carry can be recovered by sequence.
func (a *App) notify(ctx context.Context, users []domain.UserID, ev domain.Event) {
	if err := a.cfg.Notifier.Notify(ctx, users, ev); err != nil {
		a.logger.WarnContext(ctx, "notify failed", "event", ev.Name, "err", err)
	}
}
