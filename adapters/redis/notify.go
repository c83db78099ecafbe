package redis

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"sync"

	goredis "github.com/redis/go-redis/v9"

	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
)

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
