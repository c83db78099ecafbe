package portstest

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
)

// runPresenceLookup checks ports.PresenceLookup, when p has it.
func runPresenceLookup(t *testing.T, p ports.Presence) {
	pl, ok := p.(ports.PresenceLookup)
	if !ok {
		return // an optional interface: nothing to check
	}
	online, twice, offline, gone := domain.NewUserID(), domain.NewUserID(), domain.NewUserID(), domain.NewUserID()
	n1, n2 := ports.NodeID("node-"+token(8)), ports.NodeID("node-"+token(8))
	require.NoError(t, pl.Register(t.Context(), online, n1))
	require.NoError(t, pl.Register(t.Context(), twice, n1))
	require.NoError(t, pl.Register(t.Context(), twice, n2))
	require.NoError(t, pl.Register(t.Context(), gone, n2))
	require.NoError(t, pl.Unregister(t.Context(), gone, n2))

	got, err := pl.NodesOf(t.Context(), []domain.UserID{online, twice, offline, gone})
	require.NoError(t, err)
	assert.Equal(t, []ports.NodeID{n1}, got[online])
	assert.ElementsMatch(t, []ports.NodeID{n1, n2}, got[twice])
	assert.NotContains(t, got, offline, "a user without a node is absent")
	assert.NotContains(t, got, gone)
	none, err := pl.NodesOf(t.Context(), nil)
	require.NoError(t, err)
	assert.Empty(t, none)
}
