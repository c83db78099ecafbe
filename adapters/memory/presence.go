package memory

import (
	"context"
	"sync"
	"time"

	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
)

// PresenceConfig configures a Presence. Zero fields take their defaults.
type PresenceConfig struct {
	// TTL is how long a registration lasts without being refreshed by another
	// Register. Default 24 hours, the architecture guide's user_socket TTL.
	TTL time.Duration
	// Clock tells the time. Default ports.SystemClock.
	Clock ports.Clock
}

// Presence records which nodes hold sockets of which users, in memory. In a
// single process it is exact; entries expire after the TTL like Redis keys.
// It implements ports.Presence.
type Presence struct {
	ttl   time.Duration
	clock ports.Clock

	mu    sync.Mutex
	nodes map[domain.UserID]map[ports.NodeID]time.Time // expiry
	ops   int                                          // registrations since the last sweep
}

var _ ports.Presence = (*Presence)(nil)

// NewPresence returns an empty Presence.
func NewPresence(cfg PresenceConfig) *Presence {
	if cfg.TTL <= 0 {
		cfg.TTL = 24 * time.Hour
	}
	if cfg.Clock == nil {
		cfg.Clock = ports.SystemClock{}
	}
	return &Presence{ttl: cfg.TTL, clock: cfg.Clock, nodes: map[domain.UserID]map[ports.NodeID]time.Time{}}
}

// Register records, or refreshes, that node holds a socket of user.
func (p *Presence) Register(ctx context.Context, user domain.UserID, node ports.NodeID) error {
	if err := live(ctx); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.registerLocked(user, node, p.clock.Now())
	return nil
}

var _ ports.BatchPresence = (*Presence)(nil)

// RegisterBatch registers node for every user, under one lock.
func (p *Presence) RegisterBatch(ctx context.Context, users []domain.UserID, node ports.NodeID) error {
	if err := live(ctx); err != nil {
		return err
	}
	now := p.clock.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, u := range users {
		p.registerLocked(u, node, now)
	}
	return nil
}

// registerLocked records node for user until now plus the TTL. p.mu must be held.
func (p *Presence) registerLocked(user domain.UserID, node ports.NodeID, now time.Time) {
	if p.ops++; p.ops >= sweepEvery {
		p.sweepLocked(now)
	}
	ns := p.nodes[user]
	if ns == nil {
		ns = map[ports.NodeID]time.Time{}
		p.nodes[user] = ns
	}
	ns[node] = now.Add(p.ttl)
}

// Unregister removes the record of node for user. Idempotent.
func (p *Presence) Unregister(ctx context.Context, user domain.UserID, node ports.NodeID) error {
	if err := live(ctx); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.nodes[user], node)
	if len(p.nodes[user]) == 0 {
		delete(p.nodes, user)
	}
	return nil
}

// Nodes returns the nodes with an unexpired registration of user.
func (p *Presence) Nodes(ctx context.Context, user domain.UserID) ([]ports.NodeID, error) {
	if err := live(ctx); err != nil {
		return nil, err
	}
	now := p.clock.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []ports.NodeID
	for n, exp := range p.nodes[user] {
		if now.Before(exp) {
			out = append(out, n)
		} else {
			delete(p.nodes[user], n)
		}
	}
	if len(p.nodes[user]) == 0 {
		delete(p.nodes, user)
	}
	return out, nil
}

// sweepLocked drops expired registrations of every user.
func (p *Presence) sweepLocked(now time.Time) {
	p.ops = 0
	for u, ns := range p.nodes {
		for n, exp := range ns {
			if !now.Before(exp) {
				delete(ns, n)
			}
		}
		if len(ns) == 0 {
			delete(p.nodes, u)
		}
	}
}

var _ ports.PresenceLookup = (*Presence)(nil)

// NodesOf returns the nodes with an unexpired registration of each user.
func (p *Presence) NodesOf(ctx context.Context, users []domain.UserID) (map[domain.UserID][]ports.NodeID, error) {
	out := make(map[domain.UserID][]ports.NodeID, len(users))
	for _, u := range users {
		nodes, err := p.Nodes(ctx, u)
		if err != nil {
			return nil, err
		}
		if len(nodes) > 0 {
			out[u] = nodes
		}
	}
	return out, nil
}
