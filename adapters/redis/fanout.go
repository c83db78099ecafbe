package redis

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
)

// Defaults of FanoutConfig.
const (
	DefaultHealthInterval = time.Second
	DefaultMaxBackoff     = 250 * time.Millisecond
)

// FanoutConfig configures a Fanout.
type FanoutConfig struct {
	// Node is this process's id, the one its hub registers in Presence.
	// Required.
	Node ports.NodeID
	// Presence says which nodes hold a user's sockets. Required.
	Presence *Presence
	// Local delivers to the sockets of this node (the WebSocket hub). Notify
	// hands it every event directly, without a Redis hop, and Run hands it
	// the events other nodes send here. Nil for a process that only sends
	// (it then has no Run).
	Local ports.Notifier
	// HealthInterval is how often Run checks an idle subscription with a
	// PING; a subscription silent for two intervals is replaced. Default 1 s.
	HealthInterval time.Duration
	// MaxBackoff caps the wait between attempts to subscribe again while
	// Redis is down (default 250 ms, which keeps the gap after a failover short).
	MaxBackoff time.Duration
}

// Fanout implements ports.Notifier across nodes: for each target user it looks
// up the user's nodes in Presence and PUBLISHes the event on each node's
// channel, {prefix}node:{nodeId}; Run, on each node, receives its channel and
// hands the events to the local hub.
//
// Delivery is at-most-once, like Redis pub/sub: an event published while a
// node's subscription is down (a failover, a restart) is lost for that node,
// and clients recover messages by sequence. Run subscribes again by itself.
// Events from one caller to one user keep their order: each Notify returns
// after Redis accepted its PUBLISHes, and a node's channel is read in order.
type Fanout struct {
	c        *Client
	node     ports.NodeID
	presence *Presence
	local    ports.Notifier
	health   time.Duration
	backoff  time.Duration
	channel  string

	changes string // the channel of friendship changes, shared by every node

	mu      sync.Mutex
	running bool
	changed []func(a, b domain.UserID)
	lost    []func()
}

var (
	_ ports.Notifier          = (*Fanout)(nil)
	_ ports.FriendshipChanges = (*Fanout)(nil)
)

// NewFanout returns a Fanout on c.
func NewFanout(c *Client, cfg FanoutConfig) (*Fanout, error) {
	if cfg.HealthInterval == 0 {
		cfg.HealthInterval = DefaultHealthInterval
	}
	if cfg.MaxBackoff == 0 {
		cfg.MaxBackoff = DefaultMaxBackoff
	}
	switch {
	case c == nil:
		return nil, domain.Errorf(domain.KindInvalid, "redis fanout: nil client")
	case cfg.Node == "":
		return nil, domain.Errorf(domain.KindInvalid, "redis fanout: Node is required")
	case cfg.Presence == nil:
		return nil, domain.Errorf(domain.KindInvalid, "redis fanout: Presence is required")
	case cfg.HealthInterval < 10*time.Millisecond:
		return nil, domain.Errorf(domain.KindInvalid, "redis fanout: HealthInterval must be at least 10 ms")
	case cfg.MaxBackoff < time.Millisecond:
		return nil, domain.Errorf(domain.KindInvalid, "redis fanout: MaxBackoff must be at least 1 ms")
	}
	return &Fanout{
		c:        c,
		node:     cfg.Node,
		presence: cfg.Presence,
		local:    cfg.Local,
		health:   cfg.HealthInterval,
		backoff:  cfg.MaxBackoff,
		channel:  nodeChannel(c, cfg.Node),
		changes:  c.prefix + "friendship-changes",
	}, nil
}

func nodeChannel(c *Client, node ports.NodeID) string { return c.key("node", string(node)) }

// Notify delivers ev to the devices of users: those on this node through
// Local at once, those on other nodes through one PUBLISH per node. It never
// waits on a client. Errors: KindInvalid (ev does not encode), KindUnavailable
// (Redis is down; local devices were still served).
func (f *Fanout) Notify(ctx context.Context, users []domain.UserID, ev domain.Event) error {
	if len(users) == 0 {
		return nil
	}
	return f.NotifyBatch(ctx, []ports.Notification{{Users: users, Event: ev}})
}

var _ ports.BatchNotifier = (*Fanout)(nil)

// NotifyBatch implements ports.BatchNotifier: it hands each notification to
// Local in order, as Notify does, while it looks up the nodes of every user of
// the batch in one round trip, then sends the PUBLISHes for other nodes in one
// pipeline, in batch order, so that a node's channel carries them in that
// order. An event is encoded for the PUBLISH only when a socket of one of its
// users is on another node. A notification whose event does not encode is
// skipped (KindInvalid); the others still go. Errors: as Notify's, joined.
func (f *Fanout) NotifyBatch(ctx context.Context, batch []ports.Notification) error {
	type prepared struct {
		users []domain.UserID
		event domain.Event
	}
	ready := make([]prepared, 0, len(batch))
	var everyone []domain.UserID
	for _, n := range batch {
		if len(n.Users) == 0 {
			continue
		}
		users := unique(n.Users)
		ready = append(ready, prepared{users: users, event: n.Event})
		everyone = append(everyone, users...)
	}
	if len(ready) == 0 {
		return nil
	}
	var (
		nodes     map[domain.UserID][]ports.NodeID
		lookupErr error
	)
	lookup := func() { nodes, lookupErr = f.presence.lookup(ctx, unique(everyone)) }
	var errs []error
	if f.local == nil {
		lookup()
	} else {
		// The lookup's round trip overlaps the local deliveries (each
		// encodes a frame and wakes a socket's writer).
		var looked sync.WaitGroup
		looked.Go(lookup)
		kept := ready[:0]
		for _, p := range ready {
			if err := f.local.Notify(ctx, p.users, p.event); err != nil {
				errs = append(errs, err)
				if domain.KindOf(err) == domain.KindInvalid {
					continue // the event does not encode: skipped everywhere
				}
			}
			kept = append(kept, p)
		}
		ready = kept
		looked.Wait()
	}
	if lookupErr != nil {
		return errors.Join(append(errs, lookupErr)...)
	}
	type publish struct {
		channel string
		payload []byte
	}
	var publishes []publish
	for _, p := range ready {
		order, byNode := f.route(p.users, nodes)
		if len(order) == 0 {
			continue // no socket of its users is on another node
		}
		// Encoded here only for other nodes; Local encodes its own frames.
		encoded, err := json.Marshal(p.event)
		if err != nil {
			errs = append(errs, domain.Wrap(domain.KindInvalid, err, "event does not encode as JSON"))
			continue
		}
		for _, n := range order {
			publishes = append(publishes, publish{nodeChannel(f.c, n), envelope(byNode[n], encoded)})
		}
	}
	if len(publishes) == 0 {
		return errors.Join(errs...)
	}
	ctx, cancel := f.c.bound(ctx)
	defer cancel()
	_, err := f.c.rdb.Pipelined(ctx, func(pipe goredis.Pipeliner) error {
		for _, p := range publishes {
			pipe.Publish(ctx, p.channel, p.payload)
		}
		return nil
	})
	if err != nil {
		errs = append(errs, translate(err))
	}
	return errors.Join(errs...)
}

// route groups users by the other nodes that hold their sockets (this node is
// served by Local), keeping the order of users; order lists the nodes in the
// order they first appear.
func (f *Fanout) route(users []domain.UserID, nodes map[domain.UserID][]ports.NodeID) (order []ports.NodeID, byNode map[ports.NodeID][]domain.UserID) {
	for _, u := range users {
		for _, n := range nodes[u] {
			if n == f.node && f.local != nil {
				continue // served by Local
			}
			if byNode == nil {
				byNode = make(map[ports.NodeID][]domain.UserID)
			}
			if _, ok := byNode[n]; !ok {
				order = append(order, n)
			}
			byNode[n] = append(byNode[n], u)
		}
	}
	return order, byNode
}

// envelope frames an encoded event with its recipients on one node:
// {"users":[...],"event":{"event":...,"data":...}}.
func envelope(users []domain.UserID, encodedEvent []byte) []byte {
	ids, _ := json.Marshal(users) // strings always encode
	var b bytes.Buffer
	b.Grow(len(ids) + len(encodedEvent) + 22)
	b.WriteString(`{"users":`)
	b.Write(ids)
	b.WriteString(`,"event":`)
	b.Write(encodedEvent)
	b.WriteByte('}')
	return b.Bytes()
}

// wireEnvelope is envelope decoded; Data stays raw so it is re-encoded as it came.
type wireEnvelope struct {
	Users []domain.UserID `json:"users"`
	Event struct {
		Name string          `json:"event"`
		Data json.RawMessage `json:"data"`
	} `json:"event"`
}

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

// Run receives the events other nodes publish for this node and hands them to
// Local, and the friendship changes to the watchers, until ctx ends (then it
// returns nil). When the subscription breaks (a failover, a restart, a silent
// connection) it subscribes again, retrying with a short backoff for as long
// as Redis is down; events published in the gap are lost. Run may not be
// called twice at the same time. End Run before closing the Client; if the
// Client is closed first, Run returns KindUnavailable.
func (f *Fanout) Run(ctx context.Context) error {
	if f.local == nil {
		return domain.Errorf(domain.KindInvalid, "redis fanout: Run needs a Local notifier")
	}
	f.mu.Lock()
	if f.running {
		f.mu.Unlock()
		return domain.Errorf(domain.KindConflict, "redis fanout: already running")
	}
	f.running = true
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.running = false
		f.mu.Unlock()
	}()

	for ctx.Err() == nil {
		err := f.subscription(ctx)
		if ctx.Err() != nil {
			break
		}
		if errors.Is(err, goredis.ErrClosed) {
			return domain.Wrap(domain.KindUnavailable, err, "redis fanout: the client was closed while Run was running")
		}
		f.c.log.Warn("redis fanout: subscription lost, subscribing again", "node", f.node, "err", err)
		sleep(ctx, f.backoff)
	}
	return nil
}

// subscription holds one PubSub until it proves broken or ctx ends. go-redis
// reconnects a PubSub (and subscribes again) after a network error on its own;
// this loop keeps asking it to, and replaces it when it has been silent for
// too long, which a dead connection that never errors would otherwise hide.
func (f *Fanout) subscription(ctx context.Context) error {
	ps := f.c.rdb.Subscribe(ctx, f.channel, f.changes)
	stop := context.AfterFunc(ctx, func() { _ = ps.Close() }) // unblocks a pending receive
	defer func() {
		stop()
		_ = ps.Close()
	}()

	lastHeard := time.Now()
	wait := time.Duration(0)
	for {
		msg, err := ps.ReceiveTimeout(ctx, f.health)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			if errors.Is(err, goredis.ErrClosed) || time.Since(lastHeard) > 2*f.health+f.c.timeout {
				return err
			}
			if isTimeout(err) {
				// Quiet channel: prove the connection with a PING; the
				// answer arrives through ReceiveTimeout.
				pctx, cancel := f.c.bound(ctx)
				_ = ps.Ping(pctx)
				cancel()
				continue
			}
			// Broken connection: go-redis dials again (asking the Sentinels
			// for the master) on the next receive.
			wait = min(max(2*wait, 10*time.Millisecond), f.backoff)
			sleep(ctx, wait)
			continue
		}
		lastHeard, wait = time.Now(), 0
		switch m := msg.(type) {
		case *goredis.Subscription:
			f.c.log.Debug("redis fanout: subscribed", "node", f.node, "channel", m.Channel)
			if m.Channel == f.changes && m.Kind == "subscribe" {
				_, lost := f.watchers()
				for _, fn := range lost {
					fn()
				}
			}
		case *goredis.Message:
			if m.Channel == f.changes {
				f.friendshipChanged(m.Payload)
				continue
			}
			f.deliver(ctx, m.Payload)
		}
	}
}

func (f *Fanout) deliver(ctx context.Context, payload string) {
	var env wireEnvelope
	if err := json.Unmarshal([]byte(payload), &env); err != nil || env.Event.Name == "" {
		f.c.log.Warn("redis fanout: dropping undecodable event", "node", f.node, "err", err)
		return
	}
	data := env.Event.Data
	if data == nil {
		data = json.RawMessage("null")
	}
	if err := f.local.Notify(ctx, env.Users, domain.Event{Name: env.Event.Name, Data: data}); err != nil {
		f.c.log.Warn("redis fanout: local delivery failed", "node", f.node, "event", env.Event.Name, "err", err)
	}
}

func (f *Fanout) friendshipChanged(payload string) {
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

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

func unique(users []domain.UserID) []domain.UserID {
	seen := make(map[domain.UserID]struct{}, len(users))
	out := make([]domain.UserID, 0, len(users))
	for _, u := range users {
		if _, ok := seen[u]; !ok {
			seen[u] = struct{}{}
			out = append(out, u)
		}
	}
	return out
}
