package app_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/adapters/memory"
	"github.com/messenger-go/messenger/app"
	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
)

// presenceWorld is a world whose App runs presence on a memory Presence, as
// node n1, with a short debounce; connect and leave play the hub.
type presenceWorld struct {
	*world
	presence *memory.Presence
}

const debounce = 150 * time.Millisecond

func newPresenceWorld(t *testing.T) *presenceWorld {
	t.Helper()
	p := memory.NewPresence(memory.PresenceConfig{})
	w := newWorld(t, func(c *app.Config) {
		c.Presence, c.Node, c.PresenceDebounce = p, "n1", debounce
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.app.RunPresence(ctx) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})
	return &presenceWorld{world: w, presence: p}
}

// connect registers u's first socket on node, as a hub does, and tells the
// App when the node is n1 (this App's node).
func (w *presenceWorld) connect(t *testing.T, u domain.UserID, node ports.NodeID) {
	t.Helper()
	require.NoError(t, w.presence.Register(context.Background(), u, node))
	if node == "n1" {
		w.app.UserConnected(context.Background(), u)
	}
}

// leave unregisters u's last socket on node.
func (w *presenceWorld) leave(t *testing.T, u domain.UserID, node ports.NodeID) {
	t.Helper()
	require.NoError(t, w.presence.Unregister(context.Background(), u, node))
	if node == "n1" {
		w.app.UserDisconnected(context.Background(), u)
	}
}

// presences returns the presence events u got.
func (w *presenceWorld) presences(u domain.UserID) []domain.PresencePayload {
	var out []domain.PresencePayload
	for _, ev := range w.notes.of(u, domain.EventPresence) {
		out = append(out, ev.Data.(domain.PresencePayload))
	}
	return out
}

func (w *presenceWorld) waitPresences(t *testing.T, u domain.UserID, n int) []domain.PresencePayload {
	t.Helper()
	require.Eventually(t, func() bool { return len(w.presences(u)) >= n }, 5*time.Second, 5*time.Millisecond)
	got := w.presences(u)
	require.Len(t, got, n)
	return got
}

func TestPresenceGoesToFriendsOnly(t *testing.T) {
	w := newPresenceWorld(t)
	ctx := t.Context()
	ann, ben, cat, dan := w.user(t, "ann"), w.user(t, "ben"), w.user(t, "cat"), w.user(t, "dan")
	w.friends(t, ann, ben)
	w.friends(t, ann, dan)
	_, err := w.app.Block(ctx, dan, ann)
	require.NoError(t, err)
	_, err = w.app.SendFriendRequest(ctx, cat, ann)
	require.NoError(t, err)

	before := time.Now().UTC()
	w.connect(t, ann, "n1")
	on := w.waitPresences(t, ben, 1)[0]
	assert.Equal(t, ann, on.UserID)
	assert.True(t, on.Online)
	require.NotNil(t, on.LastSeenAt)
	assert.False(t, on.LastSeenAt.Before(before))

	friends, err := w.app.Friends(ctx, ben)
	require.NoError(t, err)
	require.Len(t, friends, 1)
	assert.True(t, friends[0].Online)

	w.leave(t, ann, "n1")
	off := w.waitPresences(t, ben, 2)[1]
	assert.False(t, off.Online)
	require.NotNil(t, off.LastSeenAt)
	stored, err := w.store.UserByID(ctx, ann)
	require.NoError(t, err)
	require.NotNil(t, stored.LastSeenAt, "lastSeenAt is kept")
	assert.True(t, off.LastSeenAt.Equal(*stored.LastSeenAt))
	friends, err = w.app.Friends(ctx, ben)
	require.NoError(t, err)
	assert.False(t, friends[0].Online)
	require.NotNil(t, friends[0].LastSeenAt)
	assert.True(t, friends[0].LastSeenAt.Equal(*stored.LastSeenAt))

	assert.Empty(t, w.presences(cat), "a stranger (even one who asked) learns nothing")
	assert.Empty(t, w.presences(dan), "a blocked user learns nothing")
	assert.Empty(t, w.presences(ann), "nor does the user")
	catFriends, err := w.app.Friends(ctx, cat)
	require.NoError(t, err)
	assert.Empty(t, catFriends)
}

func TestPresenceIgnoresAQuickReconnect(t *testing.T) {
	w := newPresenceWorld(t)
	ann, ben, zed := w.user(t, "ann"), w.user(t, "ben"), w.user(t, "zed")
	w.friends(t, ann, ben)
	w.friends(t, zed, ben)
	w.connect(t, ann, "n1")
	w.waitPresences(t, ben, 1)

	w.leave(t, ann, "n1")
	w.connect(t, ann, "n1") // back within the debounce
	// zed leaves after ann came back: offlines fall due in order, so once
	// zed's is announced, ann's would have been too.
	w.connect(t, zed, "n1")
	w.leave(t, zed, "n1")
	got := w.waitPresences(t, ben, 3)
	assert.Equal(t, []domain.UserID{ann, zed, zed}, []domain.UserID{got[0].UserID, got[1].UserID, got[2].UserID})
	assert.False(t, got[2].Online)
	friends, err := w.app.Friends(t.Context(), ben)
	require.NoError(t, err)
	for _, f := range friends {
		assert.Equal(t, f.ID == ann, f.Online, "ann is still online, zed is not")
	}
}

func TestPresenceAcrossNodes(t *testing.T) {
	w := newPresenceWorld(t)
	ann, ben, zed := w.user(t, "ann"), w.user(t, "ben"), w.user(t, "zed")
	w.friends(t, ann, ben)
	w.friends(t, zed, ben)

	w.connect(t, ann, "n2") // another node announced it; not this App's business
	w.connect(t, ann, "n1")
	w.leave(t, ann, "n1") // still on n2 after the debounce
	w.connect(t, zed, "n1")
	w.leave(t, zed, "n1")
	got := w.waitPresences(t, ben, 2)
	assert.Equal(t, []domain.UserID{zed, zed}, []domain.UserID{got[0].UserID, got[1].UserID},
		"ann, online elsewhere all along, was announced by neither her arrival here nor her leaving")
	friends, err := w.app.Friends(t.Context(), ben)
	require.NoError(t, err)
	for _, f := range friends {
		assert.Equal(t, f.ID == ann, f.Online)
	}
}

func TestMissedFriendEventsComeOnReconnect(t *testing.T) {
	w := newPresenceWorld(t)
	ctx := t.Context()
	ben, old, asked, eve, fay := w.user(t, "ben"), w.user(t, "old"), w.user(t, "asked"), w.user(t, "eve"), w.user(t, "fay")
	_, err := w.app.SendFriendRequest(ctx, old, ben) // before ben was last seen
	require.NoError(t, err)
	_, err = w.app.SendFriendRequest(ctx, ben, asked)
	require.NoError(t, err)
	w.connect(t, ben, "n1")
	require.Eventually(t, func() bool { return len(w.notes.of(ben, domain.EventNewFriendRequest)) == 1 }, 5*time.Second, 5*time.Millisecond,
		"a request made before ben ever connected comes on his first connection")
	w.leave(t, ben, "n1")
	require.Eventually(t, func() bool {
		u, err := w.store.UserByID(ctx, ben)
		return err == nil && u.LastSeenAt != nil
	}, 5*time.Second, 5*time.Millisecond)

	// While ben is away: eve asks him, asked accepts his request. The
	// notifications of those went nowhere.
	_, err = w.app.SendFriendRequest(ctx, eve, ben)
	require.NoError(t, err)
	_, err = w.app.AcceptFriendRequest(ctx, asked, ben)
	require.NoError(t, err)
	_, err = w.app.SendFriendRequest(ctx, fay, ben)
	require.NoError(t, err)
	require.NoError(t, w.app.CancelFriendRequest(ctx, fay, ben)) // withdrawn meanwhile: nothing to tell
	w.notes.mu.Lock()
	delete(w.notes.events, ben)
	w.notes.mu.Unlock()

	w.connect(t, ben, "n1")
	require.Eventually(t, func() bool {
		return len(w.notes.of(ben, domain.EventNewFriendRequest)) == 1 && len(w.notes.of(ben, domain.EventFriendRequestAccepted)) == 1
	}, 5*time.Second, 5*time.Millisecond)
	assert.Equal(t, eve, w.notes.of(ben, domain.EventNewFriendRequest)[0].Data.(domain.UserPayload).User.ID, "only what came since he left")
	assert.Equal(t, asked, w.notes.of(ben, domain.EventFriendRequestAccepted)[0].Data.(domain.UserPayload).User.ID)
	pending, err := w.app.PendingRequests(ctx, ben)
	require.NoError(t, err)
	assert.Len(t, pending, 2, "old and eve: the lists hold every request")
}
