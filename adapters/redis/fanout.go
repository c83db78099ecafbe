package redis

import (
	"cmp"
	"context"
	"errors"
	"net"
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

	changes string // the channel of friendship and account changes, shared by every node

	mu       sync.Mutex
	running  bool
	changed  []func(a, b domain.UserID)
	accounts []func(user domain.UserID)
	lost     []func()
}

var (
	_ ports.Notifier          = (*Fanout)(nil)
	_ ports.FriendshipChanges = (*Fanout)(nil)
	_ ports.AccountChanges    = (*Fanout)(nil)
)

// NewFanout returns a Fanout on c.
func NewFanout(c *Client, cfg FanoutConfig) (*Fanout, error) {
	cfg.HealthInterval = cmp.Or(cfg.HealthInterval, DefaultHealthInterval)
	cfg.MaxBackoff = cmp.Or(cfg.MaxBackoff, DefaultMaxBackoff)
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
