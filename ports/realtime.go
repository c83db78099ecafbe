package ports

import (
	"context"
	"time"

	"github.com/messenger-go/messenger/domain"
)

// NodeID names one server process among those serving the same user base.
type NodeID string

// Presence records which nodes hold sockets of which users, so an event can be
// routed to the nodes that can deliver it. It is advisory: entries of a node
// that died expire after the TTL the implementation documents, and a lookup may
// miss a socket opened a moment ago (clients recover by sequence).
type Presence interface {
	// Register records (or refreshes) that node holds at least one socket of
	// user. Nodes call it on connect and again periodically as a heartbeat.
	// Idempotent. Errors: KindUnavailable.
	Register(ctx context.Context, user domain.UserID, node NodeID) error
	// Unregister removes the record once node holds no socket of user. Idempotent.
	// Errors: KindUnavailable.
	Unregister(ctx context.Context, user domain.UserID, node NodeID) error
	// Nodes returns the nodes that hold sockets of user, in no particular order;
	// empty when the user is offline. Errors: KindUnavailable.
	Nodes(ctx context.Context, user domain.UserID) ([]NodeID, error)
}

// BatchPresence is a Presence that can also refresh the records of many users
// of one node in one call (one round trip), for heartbeats. RegisterBatch
// behaves as Register called for each user. Callers type-assert a Presence to
// it and fall back to Register. Errors: KindInvalid, KindUnavailable.
type BatchPresence interface {
	Presence
	RegisterBatch(ctx context.Context, users []domain.UserID, node NodeID) error
}

// Notifier pushes events to the connected devices of users. Delivery is
// at-most-once and best effort: an offline user, a full socket queue or a lost
// cross-node hop drops the event, which is why every message event can be
// recovered from the MessageStore by sequence. Notify never blocks on a slow
// client. Events to one user from one caller arrive in call order. Safe for
// concurrent use. Errors: KindInvalid when ev does not encode as JSON (it
// reaches no one), KindUnavailable when the transport between nodes is down
// (local devices were still served). portstest.RunNotifier checks this.
type Notifier interface {
	Notify(ctx context.Context, users []domain.UserID, ev domain.Event) error
}

// Notification is one event and the users to push it to.
type Notification struct {
	Users []domain.UserID
	Event domain.Event
}

// BatchNotifier is a Notifier that can also push several events in one call,
// sharing the work between them (one presence lookup, one round trip between
// nodes). NotifyBatch behaves as Notify called once per notification in
// order: events to one user arrive in slice order, and after earlier calls'
// events. Callers type-assert a Notifier to it and fall back to Notify.
// Errors: as Notify's.
type BatchNotifier interface {
	Notifier
	NotifyBatch(ctx context.Context, batch []Notification) error
}

// FriendshipChanges tells every node of a cluster that a friendship changed,
// so that each drops what it cached about the pair (an App keeps "may
// message" answers for a while). Delivery is at-most-once: whenever changes
// may have been missed (a subscription between nodes was established again),
// the watchers' lost callback is called and they forget everything. Safe for
// concurrent use.
type FriendshipChanges interface {
	// AnnounceFriendshipChange tells the watchers of every node, this one's
	// included, that the friendship of a and b changed. Errors:
	// KindUnavailable.
	AnnounceFriendshipChange(ctx context.Context, a, b domain.UserID) error
	// WatchFriendshipChanges registers callbacks: changed for every announced
	// change (the pair in either order), lost when changes may have been
	// missed. Callbacks run on the implementation's goroutine and must not
	// block.
	WatchFriendshipChanges(changed func(a, b domain.UserID), lost func())
}

// UnreadFillWindow bounds the time from the start of a store read to the
// UnreadCache.Set that caches its result: a caller that took longer does not
// Set. An Invalidate makes the user's Sets no-ops for longer than that, so
// counts read before the change that invalidated them are never cached after
// it.
const UnreadFillWindow = 5 * time.Second

// UnreadCache caches UnreadCounts. It is never the source of truth: a miss or an
// error makes the caller read the store. Safe for concurrent use.
type UnreadCache interface {
	// Get returns the cached counts and true, or false on a miss.
	// Errors: KindUnavailable.
	Get(ctx context.Context, user domain.UserID) (domain.UnreadCounts, bool, error)
	// Set caches counts for the implementation's TTL, unless the user was
	// invalidated recently (see Invalidate): then it does nothing, as the
	// counts may have been read before that change. Errors: KindUnavailable.
	Set(ctx context.Context, user domain.UserID, counts domain.UnreadCounts) error
	// Invalidate drops the cached counts of users and ignores their Sets for
	// a hold of at least twice UnreadFillWindow. Errors: KindUnavailable.
	Invalidate(ctx context.Context, users ...domain.UserID) error
}

// RateLimiter decides whether an action under key may happen now. Safe for
// concurrent use.
type RateLimiter interface {
	// Allow consumes one unit of key's budget. It returns nil when allowed and a
	// KindRateLimited error when the budget is spent. Errors: KindUnavailable
	// (callers fail open: a limiter outage must not stop messaging).
	Allow(ctx context.Context, key string) error
}

// Clock tells the time; tests substitute a fixed one.
type Clock interface {
	Now() time.Time
}

// SystemClock is the wall clock.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// HealthCheck is one dependency that /readyz reports on.
type HealthCheck struct {
	Name string
	// Check returns nil when the dependency serves, a Degraded error when it
	// serves but not as it should (readiness holds, the reason is shown), any
	// other error when it does not serve.
	Check func(ctx context.Context) error
}

// Degraded is a HealthCheck's answer for a dependency that works but not as
// it should, such as a database that may lose commits in a crash.
type Degraded struct{ Reason string }

func (d *Degraded) Error() string { return d.Reason }

// Metrics receives the use cases' measurements. Implementations must be cheap
// and safe for concurrent use.
type Metrics interface {
	// MessageSent counts one message accepted by the log.
	MessageSent()
	// MessageStored counts one message newly stored and how long it took from
	// the send to the moment it was stored and handed to the notifier.
	MessageStored(sinceSend time.Duration)
	// DeadLettered counts one record of topic moved to the dead-letter topic.
	DeadLettered(topic string)
}

// Stages of a message's way from its send to the sockets, as DeliveryMetrics
// names them.
const (
	// StagePublish is a send's publish, until the log acknowledged it.
	StagePublish = "publish"
	// StageConsume runs from a message's send time to the start of the
	// delivery consumer's handling of its batch: the publish, the fetch by
	// the consumer and the wait behind the batch before.
	StageConsume = "consume"
	// StageStore is one batch's append to the message store (its
	// transaction, commit included).
	StageStore = "store"
	// StageAnnounce is handing one batch's events to the notifier: the
	// local sockets' queues and the round trips to other nodes and caches.
	StageAnnounce = "announce"
)

// DeliveryMetrics times the stages of the delivery path (the Stage
// constants), so that an operator sees where a message's latency goes.
// Optional: an App's Metrics that implements it is told. StagePublish and
// StageConsume are observed per message, StageStore and StageAnnounce per
// batch, and DeliveryBatch gets each batch's size. Implementations must be
// cheap and safe for concurrent use.
type DeliveryMetrics interface {
	DeliveryStage(stage string, d time.Duration)
	DeliveryBatch(records int)
}

// NopMetrics discards measurements.
type NopMetrics struct{}

func (NopMetrics) MessageSent()                {}
func (NopMetrics) MessageStored(time.Duration) {}
func (NopMetrics) DeadLettered(string)         {}
