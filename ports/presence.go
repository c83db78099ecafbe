package ports

import (
	"context"

	"github.com/messenger-go/messenger/domain"
)

// PresenceLookup is a Presence that can also look up the nodes of many users
// in one call (one round trip), for the friends list. NodesOf behaves as
// Nodes called for each user; users without a node are absent from the map.
// Callers type-assert a Presence to it and fall back to Nodes.
// Errors: KindUnavailable.
type PresenceLookup interface {
	Presence
	NodesOf(ctx context.Context, users []domain.UserID) (map[domain.UserID][]NodeID, error)
}
