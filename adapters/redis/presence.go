package redis

import (
	"cmp"
	"context"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
)

// Defaults of PresenceConfig.
const (
	DefaultNodeTTL     = 60 * time.Second
	DefaultPresenceTTL = 24 * time.Hour
)

// PresenceConfig configures a Presence.
type PresenceConfig struct {
	// NodeTTL is how long one Register of a node counts: an entry not
	// refreshed within it is ignored and later pruned, so the users of a
	// crashed node stop being routed to it. Nodes heartbeat (call Register
	// again) well within it, e.g. every NodeTTL/3. Default 60 s.
	NodeTTL time.Duration
	// KeyTTL is the lifetime of a user's key, renewed by every Register
	// (the guide's 24 h). It must be at least NodeTTL. Default 24 h.
	KeyTTL time.Duration
	// Clock tells the time entries expire by; default the system clock. The
	// nodes' clocks must agree to well within NodeTTL minus the heartbeat
	// interval.
	Clock ports.Clock
}

// Presence implements ports.Presence with one sorted set per user,
// {prefix}user_socket:{userId}, whose members are node ids scored by the unix
// time in milliseconds at which their entry expires.
type Presence struct {
	c       *Client
	nodeTTL time.Duration
	keyTTL  time.Duration
	clock   ports.Clock
}

var _ ports.Presence = (*Presence)(nil)

// NewPresence returns a Presence on c.
func NewPresence(c *Client, cfg PresenceConfig) (*Presence, error) {
	if c == nil {
		return nil, domain.Errorf(domain.KindInvalid, "redis presence: nil client")
	}
	cfg.NodeTTL = cmp.Or(cfg.NodeTTL, DefaultNodeTTL)
	cfg.KeyTTL = cmp.Or(cfg.KeyTTL, DefaultPresenceTTL)
	if cfg.Clock == nil {
		cfg.Clock = ports.SystemClock{}
	}
	switch {
	case cfg.NodeTTL < time.Millisecond:
		return nil, domain.Errorf(domain.KindInvalid, "redis presence: NodeTTL must be at least 1 ms")
	case cfg.KeyTTL < cfg.NodeTTL:
		return nil, domain.Errorf(domain.KindInvalid, "redis presence: KeyTTL (%s) must be at least NodeTTL (%s)", cfg.KeyTTL, cfg.NodeTTL)
	}
	return &Presence{c: c, nodeTTL: cfg.NodeTTL, keyTTL: cfg.KeyTTL, clock: cfg.Clock}, nil
}

// NodeTTL is how long one Register counts; heartbeat well within it.
func (p *Presence) NodeTTL() time.Duration { return p.nodeTTL }

// Register records that node holds a socket of user until NodeTTL from now,
// renews the key's TTL and prunes expired entries, atomically. Idempotent.
// Errors: KindInvalid, KindUnavailable.
func (p *Presence) Register(ctx context.Context, user domain.UserID, node ports.NodeID) error {
	if err := checkEntry(user, node); err != nil {
		return err
	}
	ctx, cancel := p.c.bound(ctx)
	defer cancel()
	now := p.clock.Now()
	_, err := p.c.rdb.TxPipelined(ctx, func(tx goredis.Pipeliner) error {
		p.queueRegister(ctx, tx, user, node, now)
		return nil
	})
	return translate(err)
}

// queueRegister queues Register's commands for user on pipe.
func (p *Presence) queueRegister(ctx context.Context, pipe goredis.Pipeliner, user domain.UserID, node ports.NodeID, now time.Time) {
	key := p.c.key("user_socket", string(user))
	pipe.ZAdd(ctx, key, goredis.Z{Score: float64(now.Add(p.nodeTTL).UnixMilli()), Member: string(node)})
	pipe.ZRemRangeByScore(ctx, key, "-inf", strconv.FormatInt(now.UnixMilli(), 10))
	pipe.PExpire(ctx, key, p.keyTTL)
}

var _ ports.BatchPresence = (*Presence)(nil)

// RegisterBatch implements ports.BatchPresence: Register's commands for every
// user, in one pipeline. Errors: KindInvalid (nothing was sent),
// KindUnavailable.
func (p *Presence) RegisterBatch(ctx context.Context, users []domain.UserID, node ports.NodeID) error {
	for _, u := range users {
		if err := checkEntry(u, node); err != nil {
			return err
		}
	}
	if len(users) == 0 {
		return nil
	}
	ctx, cancel := p.c.bound(ctx)
	defer cancel()
	now := p.clock.Now()
	_, err := p.c.rdb.Pipelined(ctx, func(pipe goredis.Pipeliner) error {
		for _, u := range users {
			p.queueRegister(ctx, pipe, u, node, now)
		}
		return nil
	})
	return translate(err)
}

// Unregister removes node's entry for user. Idempotent.
// Errors: KindInvalid, KindUnavailable.
func (p *Presence) Unregister(ctx context.Context, user domain.UserID, node ports.NodeID) error {
	if err := checkEntry(user, node); err != nil {
		return err
	}
	ctx, cancel := p.c.bound(ctx)
	defer cancel()
	return translate(p.c.rdb.ZRem(ctx, p.c.key("user_socket", string(user)), string(node)).Err())
}

// Nodes returns the nodes whose entry for user has not expired, in no
// particular order. Errors: KindUnavailable.
func (p *Presence) Nodes(ctx context.Context, user domain.UserID) ([]ports.NodeID, error) {
	m, err := p.lookup(ctx, []domain.UserID{user})
	if err != nil {
		return nil, err
	}
	return m[user], nil
}

// lookup returns the live nodes of each user in one round trip. Users without
// a live node are absent from the map.
func (p *Presence) lookup(ctx context.Context, users []domain.UserID) (map[domain.UserID][]ports.NodeID, error) {
	if len(users) == 0 {
		return nil, nil
	}
	ctx, cancel := p.c.bound(ctx)
	defer cancel()
	rng := &goredis.ZRangeBy{Min: "(" + strconv.FormatInt(p.clock.Now().UnixMilli(), 10), Max: "+inf"}
	cmds := make([]*goredis.StringSliceCmd, len(users))
	_, err := p.c.rdb.Pipelined(ctx, func(pipe goredis.Pipeliner) error {
		for i, u := range users {
			cmds[i] = pipe.ZRangeByScore(ctx, p.c.key("user_socket", string(u)), rng)
		}
		return nil
	})
	if err != nil {
		return nil, translate(err)
	}
	out := make(map[domain.UserID][]ports.NodeID, len(users))
	for i, u := range users {
		for _, n := range cmds[i].Val() {
			out[u] = append(out[u], ports.NodeID(n))
		}
	}
	return out, nil
}

func checkEntry(user domain.UserID, node ports.NodeID) error {
	switch {
	case user == "":
		return domain.Errorf(domain.KindInvalid, "presence: empty user id")
	case node == "":
		return domain.Errorf(domain.KindInvalid, "presence: empty node id")
	}
	return nil
}

var _ ports.PresenceLookup = (*Presence)(nil)

// NodesOf implements ports.PresenceLookup: the live nodes of every user, in
// one pipeline. Errors: KindUnavailable.
func (p *Presence) NodesOf(ctx context.Context, users []domain.UserID) (map[domain.UserID][]ports.NodeID, error) {
	return p.lookup(ctx, users)
}
