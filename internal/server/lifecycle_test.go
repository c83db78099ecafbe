package server_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/client"
	"github.com/messenger-go/messenger/domain"
)

// unfriendScenario: alice (on nodeA) and bob (on nodeB) are friends; bob
// ends the friendship through nodeB. Both hear friendRemoved, and from then
// on sends between them are refused through either node, although both
// nodes had just said yes to a send.
func unfriendScenario(t *testing.T, nodeA, nodeB string) {
	ctx := context.Background()
	alice, bob := register(t, nodeA, "Alice"), register(t, nodeB, "Bob")
	alice.connect(t, nodeA)
	bob.connect(t, nodeB)
	befriend(t, alice, bob)
	via := func(u *user, base string) *client.Client { return client.New(base, nil).WithToken(u.Token()) }
	send := func(from *user, base string, to *user, cid string) error {
		_, err := via(from, base).Send(ctx, client.SendRequest{ReceiverID: to.id, Message: "hi", ClientMessageID: cid})
		return err
	}
	for _, base := range []string{nodeA, nodeB} {
		require.NoError(t, send(alice, base, bob, "before-a-"+base))
		require.NoError(t, send(bob, base, alice, "before-b-"+base))
	}

	require.NoError(t, bob.Do(ctx, "DELETE", "/friends/"+string(alice.id), nil, nil))
	var removed domain.UserIDPayload
	require.NoError(t, alice.expect(t, domain.EventFriendRemoved).Decode(&removed))
	require.Equal(t, bob.id, removed.UserID)
	require.NoError(t, bob.expect(t, domain.EventFriendRemoved).Decode(&removed))
	require.Equal(t, alice.id, removed.UserID)

	for i, base := range []string{nodeA, nodeB} {
		apiError(t, send(alice, base, bob, fmt.Sprintf("after-a-%d", i)), http.StatusForbidden, "forbidden")
		apiError(t, send(bob, base, alice, fmt.Sprintf("after-b-%d", i)), http.StatusForbidden, "forbidden")
	}
	friends, err := alice.Friends(ctx)
	require.NoError(t, err)
	require.Empty(t, friends)
	apiError(t, bob.Do(ctx, "DELETE", "/friends/"+string(alice.id), nil, nil), http.StatusNotFound, "not_found")

	// A declined request may be asked again; a cancelled one leaves the list.
	_, err = alice.SendFriendRequest(ctx, bob.id)
	require.NoError(t, err)
	require.NoError(t, bob.Do(ctx, "POST", "/friends/decline-request", map[string]any{"friendId": alice.id}, nil))
	pending, err := bob.PendingRequests(ctx)
	require.NoError(t, err)
	require.Empty(t, pending)
	_, err = alice.SendFriendRequest(ctx, bob.id)
	require.NoError(t, err)
	require.NoError(t, alice.Do(ctx, "POST", "/friends/cancel-request", map[string]any{"friendId": bob.id}, nil))
	pending, err = bob.PendingRequests(ctx)
	require.NoError(t, err)
	require.Empty(t, pending)
	apiError(t, alice.Do(ctx, "POST", "/friends/cancel-request", map[string]any{"friendId": bob.id}, nil), http.StatusNotFound, "not_found")
}

func TestEmbeddedServerUnfriend(t *testing.T) {
	onEmbedded(t, nil, unfriendScenario)
}

// TestClusterUnfriendAppliesOnEveryNode: nodes cache that two users may
// message each other for 30 s; an unfriend through one node stops sends
// through both at once.
func TestClusterUnfriendAppliesOnEveryNode(t *testing.T) {
	onTwoNodes(t, unfriendScenario)
}

// watchClose opens a socket of token's user on base and returns a channel
// that receives the close status the server ends it with.
func watchClose(t *testing.T, base, token string) <-chan websocket.StatusCode {
	t.Helper()
	conn, err := client.New(base, nil).WithToken(token).Dial(context.Background())
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.CloseNow() })
	f, err := conn.Next(context.Background())
	require.NoError(t, err)
	require.Equal(t, domain.EventRegistered, f.Event)
	out := make(chan websocket.StatusCode, 1)
	go func() {
		for {
			if _, err := conn.Next(context.Background()); err != nil {
				out <- websocket.CloseStatus(err)
				return
			}
		}
	}()
	return out
}

// closedWith waits for the close status of a watched socket.
func closedWith(t *testing.T, ch <-chan websocket.StatusCode, want websocket.StatusCode, what string) {
	t.Helper()
	select {
	case got := <-ch:
		require.Equal(t, want, got, what)
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: socket still open after 10s", what)
	}
}

// refusedOn polls until token is refused (401) on every node, for at most
// a second: the other nodes hear of the change through Redis.
func refusedOn(t *testing.T, token string, nodes ...string) {
	t.Helper()
	for _, base := range nodes {
		c := client.New(base, nil).WithToken(token)
		var err error
		require.Eventually(t, func() bool {
			err = c.Do(context.Background(), "GET", "/users/me", nil, nil)
			var e *client.Error
			return errors.As(err, &e) && e.Status == http.StatusUnauthorized
		}, time.Second, 10*time.Millisecond, "token still accepted on %s: %v", base, err)
	}
}

// accountScenario: alice (registered on nodeA, with a socket on each node)
// changes her password, logs out everywhere, exports her data and deletes
// her account; bob, her friend on nodeB, keeps his history of her.
func accountScenario(t *testing.T, nodeA, nodeB string) {
	ctx := context.Background()
	alice, bob, conv := friendsOn(t, nodeA, nodeB)
	for i, m := range []struct {
		from, to *user
		text     string
	}{{alice, bob, "mine 1"}, {bob, alice, "his"}, {alice, bob, "mine 2"}} {
		_, err := m.from.Send(ctx, client.SendRequest{ReceiverID: m.to.id, Message: m.text, ClientMessageID: fmt.Sprintf("acct-%d", i)})
		require.NoError(t, err)
	}
	bob.messages(t, 3)

	// A new password: every socket on every node closes with 4001, the old
	// tokens stop working everywhere, the new password logs in.
	onA, onB := watchClose(t, nodeA, alice.Token()), watchClose(t, nodeB, alice.Token())
	oldRefresh := alice.session.RefreshToken
	require.NoError(t, alice.Do(ctx, "POST", "/auth/change-password", map[string]string{
		"currentPassword": "correct horse battery", "newPassword": "staple battery horse correct"}, nil))
	closedWith(t, onA, 4001, "alice's socket on node A")
	closedWith(t, onB, 4001, "alice's socket on node B")
	refusedOn(t, alice.Token(), nodeA, nodeB)
	_, err := client.New(nodeB, nil).Refresh(ctx, oldRefresh)
	apiError(t, err, http.StatusUnauthorized, "unauthenticated")
	_, _, err = client.New(nodeB, nil).Login(ctx, alice.email, "correct horse battery")
	apiError(t, err, http.StatusUnauthorized, "unauthenticated")
	c, s, err := client.New(nodeB, nil).Login(ctx, alice.email, "staple battery horse correct")
	require.NoError(t, err)
	require.NoError(t, c.Do(ctx, "GET", "/users/me", nil, nil), "the new session works")

	// Log out everywhere, through the other node.
	onA = watchClose(t, nodeA, s.AccessToken)
	require.NoError(t, c.Do(ctx, "POST", "/auth/logout-all", nil, nil))
	closedWith(t, onA, 4001, "alice's socket on node A after logging out everywhere")
	refusedOn(t, s.AccessToken, nodeA, nodeB)
	_, err = client.New(nodeA, nil).Refresh(ctx, s.RefreshToken)
	apiError(t, err, http.StatusUnauthorized, "unauthenticated")

	// Export, then delete.
	c, s, err = client.New(nodeA, nil).Login(ctx, alice.email, "staple battery horse correct")
	require.NoError(t, err)
	var export domain.AccountExport
	require.NoError(t, c.Do(ctx, "GET", "/users/me/export", nil, &export))
	require.Equal(t, alice.id, export.User.ID)
	require.Equal(t, alice.email, export.User.Email)
	require.Len(t, export.Friendships, 1)
	require.Equal(t, domain.FriendAccepted, export.Friendships[0].Status)
	require.Equal(t, []domain.Sequence{1, 2, 3}, sequences(export.Messages), "the export holds every message, both ways")
	require.Equal(t, []string{"mine 1", "his", "mine 2"}, []string{export.Messages[0].Text, export.Messages[1].Text, export.Messages[2].Text})

	onB = watchClose(t, nodeB, s.AccessToken)
	apiError(t, c.Do(ctx, "DELETE", "/users/me", map[string]string{"password": "correct horse battery"}, nil), http.StatusForbidden, "forbidden")
	require.NoError(t, client.New(nodeB, nil).WithToken(s.AccessToken).Do(ctx, "DELETE", "/users/me", map[string]string{"password": "staple battery horse correct"}, nil))
	closedWith(t, onB, 4001, "the deleted account's socket")
	refusedOn(t, s.AccessToken, nodeA, nodeB)
	_, _, err = client.New(nodeA, nil).Login(ctx, alice.email, "staple battery horse correct")
	apiError(t, err, http.StatusUnauthorized, "unauthenticated")
	var removed domain.UserIDPayload
	require.NoError(t, bob.expect(t, domain.EventFriendRemoved).Decode(&removed))
	require.Equal(t, alice.id, removed.UserID)

	hist, _, err := bob.History(ctx, string(conv), domain.Page{})
	require.NoError(t, err)
	require.Equal(t, []domain.Sequence{1, 2, 3}, sequences(hist), "bob keeps every sequence")
	for _, i := range []int{0, 2} {
		assert.Empty(t, hist[i].Text, "alice's words are gone")
		assert.NotNil(t, hist[i].DeletedAt)
	}
	assert.Equal(t, "his", hist[1].Text)
	convs, err := bob.Conversations(ctx)
	require.NoError(t, err)
	require.Len(t, convs, 1)
	assert.Equal(t, domain.DeletedUser(alice.id), convs[0].Peer, "shown as from a deleted user")
	unread, err := bob.UnreadCount(ctx)
	require.NoError(t, err)
	assert.Zero(t, unread.Total)

	_, again, err := client.New(nodeB, nil).Register(ctx, "Alice", "Again", alice.email, "correct horse battery")
	require.NoError(t, err, "the email registers again")
	assert.NotEqual(t, alice.id, again.User.ID)
}

func TestEmbeddedServerAccountLifecycle(t *testing.T) {
	onEmbedded(t, nil, accountScenario)
}

// TestClusterAccountLifecycle: revocations and the deletion take effect on
// both nodes of a deployment, sockets included.
func TestClusterAccountLifecycle(t *testing.T) {
	onTwoNodes(t, accountScenario)
}

// view is a device's copy of a conversation, built from the frames it
// gets: of two copies of a message, the higher version wins.
type view map[domain.MessageID]domain.Message

// apply folds one frame into v.
func (v view) apply(t *testing.T, f client.Frame) {
	t.Helper()
	switch f.Event {
	case domain.EventNewMessage, domain.EventMessageEdited:
		var m domain.Message
		require.NoError(t, f.Decode(&m))
		if cur, ok := v[m.ID]; !ok || m.Version > cur.Version {
			v[m.ID] = m
		}
	case domain.EventMessageDeleted:
		var d domain.MessageDeleted
		require.NoError(t, f.Decode(&d))
		m := v[d.MessageID]
		if m.DeletedAt == nil {
			m.ID, m.ConversationID, m.Sequence = d.MessageID, d.ConversationID, d.Sequence
			m.Text, m.Metadata, m.DeletedAt = "", nil, &d.DeletedAt
			m.Version++ // a deletion is one version up
		}
		v[d.MessageID] = m
	}
}

// differs describes how v differs from the stored history, or is "".
func (v view) differs(hist []domain.Message) string {
	if len(v) != len(hist) {
		return fmt.Sprintf("%d messages, the store has %d", len(v), len(hist))
	}
	for _, h := range hist {
		m, ok := v[h.ID]
		switch {
		case !ok:
			return fmt.Sprintf("sequence %d missing", h.Sequence)
		case m.Text != h.Text || (m.DeletedAt == nil) != (h.DeletedAt == nil) || m.Sequence != h.Sequence:
			return fmt.Sprintf("sequence %d: %q deleted=%v, the store has %q deleted=%v", h.Sequence, m.Text, m.DeletedAt != nil, h.Text, h.DeletedAt != nil)
		}
	}
	return ""
}

// converge reads u's frames into v until v is the stored history of conv.
func (v view) converge(t *testing.T, u *user, conv domain.ConversationID) {
	t.Helper()
	deadline := time.After(15 * time.Second)
	for {
		hist, _, err := u.History(context.Background(), string(conv), domain.Page{Limit: domain.MaxPageLimit})
		require.NoError(t, err)
		why := v.differs(hist)
		if why == "" {
			return
		}
		select {
		case f, ok := <-u.frames:
			require.True(t, ok, "%s: socket closed; view differs: %s", u.email, why)
			v.apply(t, f)
		case <-time.After(200 * time.Millisecond):
			// The store may be ahead of the frames in flight; read it again.
		case <-deadline:
			t.Fatalf("%s: view still differs from the store after 15s: %s", u.email, why)
		}
	}
}

// editScenario: alice (on nodeA) edits and deletes while bob is on nodeB,
// first online, then offline and resuming: bob's view ends as the store.
func editScenario(t *testing.T, nodeA, nodeB string) {
	ctx := context.Background()
	alice, bob := register(t, nodeA, "Alice"), register(t, nodeB, "Bob")
	alice.connect(t, nodeA)
	bob.connect(t, nodeB)
	befriend(t, alice, bob)
	conv, _ := domain.NewConversationID(alice.id, bob.id)
	var ids []domain.MessageID
	send := func(text string) {
		r, err := alice.Send(ctx, client.SendRequest{ReceiverID: bob.id, Message: text})
		require.NoError(t, err)
		ids = append(ids, r.MessageID)
	}
	stored := func(n int) {
		t.Helper()
		require.Eventually(t, func() bool {
			h, _, err := alice.History(ctx, string(conv), domain.Page{Limit: domain.MaxPageLimit})
			return err == nil && len(h) == n
		}, 10*time.Second, 20*time.Millisecond, "%d messages stored", n)
	}
	for i := 1; i <= 5; i++ {
		send(fmt.Sprintf("message %d", i))
	}
	stored(5)
	mine := view{}
	mine.converge(t, bob, conv)
	// applied waits until the store's copy of id satisfies ok.
	applied := func(id domain.MessageID, ok func(domain.Message) bool) {
		t.Helper()
		require.Eventually(t, func() bool {
			h, _, err := alice.History(ctx, string(conv), domain.Page{Limit: domain.MaxPageLimit})
			if err != nil {
				return false
			}
			for _, m := range h {
				if m.ID == id {
					return ok(m)
				}
			}
			return false
		}, 10*time.Second, 20*time.Millisecond, "the change of %s is applied", id)
	}
	edit := func(base string, id domain.MessageID, text string) domain.Message {
		t.Helper()
		var out struct{ Message domain.Message }
		require.NoError(t, client.New(base, nil).WithToken(alice.Token()).Do(ctx, "PATCH", "/messages/"+string(id), map[string]any{"message": text}, &out))
		applied(id, func(m domain.Message) bool { return m.Text == text })
		return out.Message
	}
	del := func(id domain.MessageID) {
		t.Helper()
		require.NoError(t, alice.Do(ctx, "DELETE", "/messages/"+string(id), nil, nil))
		applied(id, func(m domain.Message) bool { return m.DeletedAt != nil })
	}

	// Online: bob's devices follow live.
	got := edit(nodeA, ids[1], "message 2, edited")
	require.Equal(t, "message 2, edited", got.Text)
	require.Equal(t, int64(2), got.Version)
	require.NotNil(t, got.EditedAt)
	del(ids[2])
	mine.converge(t, bob, conv)
	hist, _, err := bob.History(ctx, string(conv), domain.Page{})
	require.NoError(t, err)
	require.Equal(t, []domain.Sequence{1, 2, 3, 4, 5}, sequences(hist), "a tombstone keeps its sequence")
	require.NotNil(t, hist[2].DeletedAt)
	require.Empty(t, hist[2].Text)

	// Concurrent edits through both nodes: the last in log order wins, on
	// every device.
	done := make(chan error, 6)
	for i := range 6 {
		go func() {
			base := []string{nodeA, nodeB}[i%2]
			done <- client.New(base, nil).WithToken(alice.Token()).Do(ctx, "PATCH", "/messages/"+string(ids[0]),
				map[string]any{"message": fmt.Sprintf("racing %d", i)}, nil)
		}()
	}
	for range 6 {
		require.NoError(t, <-done)
	}
	applied(ids[0], func(m domain.Message) bool { return m.Version == 7 })
	mine.converge(t, bob, conv)
	alicesView := view{}
	alicesView.converge(t, alice, conv)
	require.Equal(t, mine[ids[0]].Text, alicesView[ids[0]].Text, "both sides end with the same text")
	require.Equal(t, int64(7), mine[ids[0]].Version, "six edits, each applied once")

	// Offline: bob misses changes above and below his cursor, then resumes.
	last := domain.Sequence(5)
	bob.disconnect(t)
	edit(nodeB, ids[3], "message 4, edited while bob was away")
	del(ids[0])
	send("message 6")
	send("message 7")
	stored(7)
	edit(nodeA, ids[5], "message 6, edited")
	bob.reconnect(t, nodeB, map[domain.ConversationID]domain.Sequence{conv: last})
	mine.converge(t, bob, conv)

	unread, err := bob.UnreadCount(ctx)
	require.NoError(t, err)
	require.Equal(t, int64(5), unread.ByConversation[conv], "seven sent, two deleted: five unread")
	convs, err := bob.Conversations(ctx)
	require.NoError(t, err)
	require.Len(t, convs, 1)
	require.Equal(t, domain.Sequence(7), convs[0].LastMessage.Sequence)
	del(ids[6])
	mine.converge(t, bob, conv)
	convs, err = bob.Conversations(ctx)
	require.NoError(t, err)
	require.NotNil(t, convs[0].LastMessage.DeletedAt, "a deleted last message shows as deleted")
	require.Eventually(t, func() bool {
		u, err := bob.UnreadCount(ctx)
		return err == nil && u.ByConversation[conv] == 4
	}, 10*time.Second, 50*time.Millisecond, "and is not unread")

	// Bad input: not yours, unknown, too large, deleted.
	apiError(t, client.New(nodeB, nil).WithToken(bob.Token()).Do(ctx, "PATCH", "/messages/"+string(ids[1]), map[string]any{"message": "bob's words"}, nil), http.StatusForbidden, "forbidden")
	apiError(t, bob.Do(ctx, "DELETE", "/messages/"+string(ids[1]), nil, nil), http.StatusForbidden, "forbidden")
	apiError(t, alice.Do(ctx, "PATCH", "/messages/"+string(domain.DeriveMessageID(alice.id, "never")), map[string]any{"message": "x"}, nil), http.StatusNotFound, "not_found")
	apiError(t, alice.Do(ctx, "PATCH", "/messages/"+string(ids[1]), map[string]any{"message": strings.Repeat("x", domain.MaxMessageBytes+1)}, nil), http.StatusRequestEntityTooLarge, "too_large")
	apiError(t, alice.Do(ctx, "PATCH", "/messages/"+string(ids[2]), map[string]any{"message": "undelete"}, nil), http.StatusConflict, "conflict")
	require.NoError(t, alice.Do(ctx, "DELETE", "/messages/"+string(ids[2]), nil, nil), "deleting again is idempotent")
}

func TestEmbeddedServerEditAndDelete(t *testing.T) {
	onEmbedded(t, nil, editScenario)
}

// TestClusterEditAndDelete: changes made through either node reach bob on
// the other, live and through a resume.
func TestClusterEditAndDelete(t *testing.T) {
	onTwoNodes(t, editScenario)
}

// nextPresence waits up to within for u's next presence frame about who.
func nextPresence(t *testing.T, u *user, who domain.UserID, within time.Duration) domain.PresencePayload {
	t.Helper()
	deadline := time.After(within)
	for {
		select {
		case f, ok := <-u.frames:
			require.True(t, ok, "%s: socket closed", u.email)
			if f.Event != domain.EventPresence {
				continue
			}
			var p domain.PresencePayload
			require.NoError(t, f.Decode(&p))
			if p.UserID == who {
				return p
			}
		case <-deadline:
			t.Fatalf("%s: no presence of %s within %s", u.email, who, within)
		}
	}
}

// noOffline checks that u hears nothing of who going offline for d.
func noOffline(t *testing.T, u *user, who domain.UserID, d time.Duration) {
	t.Helper()
	deadline := time.After(d)
	for {
		select {
		case f, ok := <-u.frames:
			require.True(t, ok)
			var p domain.PresencePayload
			if f.Event == domain.EventPresence && f.Decode(&p) == nil && p.UserID == who {
				require.True(t, p.Online, "%s heard %s go offline", u.email, who)
			}
		case <-deadline:
			return
		}
	}
}

// presenceScenario: bob (on nodeB) sees his friend alice come and go on
// nodeA within 2 s, and not go at all when she reconnects within a second
// (to either node); a stranger and a blocked user hear nothing.
func presenceScenario(t *testing.T, nodeA, nodeB string) {
	ctx := context.Background()
	alice, bob, carol, dave := register(t, nodeA, "Alice"), register(t, nodeB, "Bob"), register(t, nodeA, "Carol"), register(t, nodeB, "Dave")
	befriend(t, alice, bob)
	befriend(t, alice, dave)
	require.NoError(t, alice.Do(ctx, "POST", "/friends/block", map[string]any{"friendId": dave.id}, nil))
	bob.connect(t, nodeB)
	carol.connect(t, nodeA)
	dave.connect(t, nodeB)

	friendOf := func(u *user, who domain.UserID) domain.Friend {
		t.Helper()
		var out struct{ Friends []domain.Friend }
		require.NoError(t, u.Do(ctx, "GET", "/friends/list", nil, &out))
		for _, f := range out.Friends {
			if f.ID == who {
				return f
			}
		}
		t.Fatalf("%s is not a friend of %s", who, u.email)
		return domain.Friend{}
	}
	require.False(t, friendOf(bob, alice.id).Online)

	start := time.Now()
	alice.connect(t, nodeA)
	on := nextPresence(t, bob, alice.id, 2*time.Second)
	require.True(t, on.Online, "online within 2 s of connecting (%s)", time.Since(start))
	require.True(t, friendOf(bob, alice.id).Online)

	// A reconnect after a second, through the other node: no offline.
	alice.disconnect(t)
	time.Sleep(time.Second) // the client's second away, part of the scenario
	alice.connect(t, nodeB)
	noOffline(t, bob, alice.id, 2*time.Second)
	require.True(t, friendOf(bob, alice.id).Online)

	start = time.Now()
	alice.disconnect(t)
	off := nextPresence(t, bob, alice.id, 2*time.Second)
	require.False(t, off.Online, "offline within 2 s of leaving (%s)", time.Since(start))
	require.NotNil(t, off.LastSeenAt)
	f := friendOf(bob, alice.id)
	require.False(t, f.Online)
	require.NotNil(t, f.LastSeenAt)
	require.True(t, f.LastSeenAt.Equal(*off.LastSeenAt), "the friends list shows when she was last seen")

	carol.quiet(t, domain.EventPresence, 100*time.Millisecond)
	dave.quiet(t, domain.EventPresence, 100*time.Millisecond)
	var strangers struct{ Friends []domain.Friend }
	require.NoError(t, carol.Do(ctx, "GET", "/friends/list", nil, &strangers))
	require.Empty(t, strangers.Friends, "a stranger learns nothing of alice")
	require.NoError(t, dave.Do(ctx, "GET", "/friends/list", nil, &strangers))
	require.Empty(t, strangers.Friends, "nor does a blocked user")
}

func TestEmbeddedServerPresence(t *testing.T) {
	onEmbedded(t, nil, presenceScenario)
}

// TestClusterPresence: presence crosses nodes through Redis.
func TestClusterPresence(t *testing.T) {
	onTwoNodes(t, presenceScenario)
}

// contractScenario runs a load of sends with edits and deletes among them,
// alice through both nodes, while bob (on nodeB) reads, drops his socket
// half-way and resumes from his cursor; then it checks the delivery
// contract by name.
func contractScenario(t *testing.T, nodeA, nodeB string) {
	ctx := context.Background()
	alice, bob, conv := friendsOn(t, nodeA, nodeB)
	nodes := []string{nodeA, nodeB}
	via := func(i int) *client.Client { return client.New(nodes[i%2], nil).WithToken(alice.Token()) }

	const total = 48
	type result struct {
		accepted []string           // clientMessageIds answered 202
		refused  []string           // answered with a definite failure
		ids      []domain.MessageID // of the accepted, in order
		err      error
	}
	done := make(chan result, 1)
	go func() {
		var r result
		defer func() { done <- r }()
		for i := 0; i < total; i++ {
			cid := fmt.Sprintf("load-%03d", i)
			req := client.SendRequest{ReceiverID: bob.id, Message: "load " + cid, ClientMessageID: cid}
			rec, err := via(i).Send(ctx, req)
			if err != nil {
				r.err = fmt.Errorf("send %s: %w", cid, err)
				return
			}
			if i%10 == 0 { // a retry after a timeout, through the other node (I8)
				again, err := via(i+1).Send(ctx, req)
				if err != nil || again.MessageID != rec.MessageID {
					r.err = fmt.Errorf("retry of %s: %v, id %s vs %s", cid, err, again.MessageID, rec.MessageID)
					return
				}
			}
			r.accepted, r.ids = append(r.accepted, cid), append(r.ids, rec.MessageID)
			if i%7 == 3 { // refused for good: never stored (I3)
				bad := fmt.Sprintf("bad-%03d", i)
				_, err := via(i).Send(ctx, client.SendRequest{ReceiverID: bob.id, Message: strings.Repeat("x", domain.MaxMessageBytes+1), ClientMessageID: bad})
				var e *client.Error
				if !errors.As(err, &e) || e.Status != http.StatusRequestEntityTooLarge {
					r.err = fmt.Errorf("oversized send %s: %v", bad, err)
					return
				}
				r.refused = append(r.refused, bad)
			}
			// Changes of earlier messages, through either node; an edit may
			// find its target not stored yet (404) or deleted (409).
			if i%4 == 2 {
				target := r.ids[(i*5)%len(r.ids)]
				err := via(i+1).Do(ctx, "PATCH", "/messages/"+string(target), map[string]any{"message": fmt.Sprintf("edit %d", i)}, nil)
				var e *client.Error
				if err != nil && (!errors.As(err, &e) || (e.Status != http.StatusNotFound && e.Status != http.StatusConflict)) {
					r.err = fmt.Errorf("edit of %s: %w", target, err)
					return
				}
			}
			if i%9 == 5 {
				target := r.ids[(i*3)%len(r.ids)]
				err := via(i).Do(ctx, "DELETE", "/messages/"+string(target), nil, nil)
				var e *client.Error
				if err != nil && (!errors.As(err, &e) || e.Status != http.StatusNotFound) {
					r.err = fmt.Errorf("delete of %s: %w", target, err)
					return
				}
			}
		}
	}()

	// Bob reads; every socket sees the conversation in sequence order (I5).
	mine := view{}
	var firstSeen []domain.Sequence
	seen := map[domain.Sequence]bool{}
	read := func(f client.Frame) {
		mine.apply(t, f)
		if f.Event != domain.EventNewMessage {
			return
		}
		var m domain.Message
		require.NoError(t, f.Decode(&m))
		if !seen[m.Sequence] {
			seen[m.Sequence] = true
			firstSeen = append(firstSeen, m.Sequence)
		}
	}
	for len(seen) < total/3 {
		select {
		case f := <-bob.frames:
			read(f)
		case <-time.After(15 * time.Second):
			t.Fatalf("bob got %d messages in 15s", len(seen))
		}
	}
	require.NoError(t, bob.conn.Close())
	for f := range bob.frames {
		read(f)
	}
	cursor := domain.Sequence(0)
	for seen[cursor+1] {
		cursor++
	}
	bob.reconnect(t, nodeB, map[domain.ConversationID]domain.Sequence{conv: cursor})

	r := <-done
	require.NoError(t, r.err)
	require.Len(t, r.accepted, total)
	require.Eventually(t, func() bool {
		h, _, err := alice.History(ctx, string(conv), domain.Page{Limit: domain.MaxPageLimit})
		return err == nil && len(h) == total
	}, 15*time.Second, 50*time.Millisecond, "I1: every accepted message is stored")
	deadline := time.After(15 * time.Second)
	for len(seen) < total {
		select {
		case f, ok := <-bob.frames:
			require.True(t, ok)
			read(f)
		case <-deadline:
			t.Fatalf("I6/I7: bob got %d of %d messages", len(seen), total)
		}
	}
	mine.converge(t, bob, conv)

	hist, _, err := bob.History(ctx, string(conv), domain.Page{Limit: domain.MaxPageLimit})
	require.NoError(t, err)
	stored := map[string]bool{}
	for i, m := range hist {
		require.Equal(t, domain.Sequence(i+1), m.Sequence, "I4: sequences 1..n, contiguous")
		require.False(t, stored[m.ClientMessageID], "I2: %s stored twice", m.ClientMessageID)
		stored[m.ClientMessageID] = true
	}
	for _, cid := range r.accepted {
		require.True(t, stored[cid], "I1/I8: %s accepted but not stored once", cid)
	}
	for _, cid := range r.refused {
		require.False(t, stored[cid], "I3: %s refused but stored", cid)
	}
	for i := 1; i < len(firstSeen); i++ {
		require.Less(t, firstSeen[i-1], firstSeen[i], "I5: bob saw the messages in sequence order")
	}
}

func TestEmbeddedServerDeliveryContractWithChanges(t *testing.T) {
	onEmbedded(t, map[string]string{"MESSENGER_SEND_RATE_LIMIT": "0"}, contractScenario)
}

// TestClusterDeliveryContractWithChanges: I1-I8 hold with edits and deletes
// in the load, through two nodes.
func TestClusterDeliveryContractWithChanges(t *testing.T) {
	onTwoNodes(t, contractScenario)
}

// onEmbedded runs scenario on one embedded server (env on top of the test
// defaults), both users on it.
func onEmbedded(t *testing.T, env map[string]string, scenario func(t *testing.T, nodeA, nodeB string)) {
	base := startServer(t, env)
	scenario(t, base, base)
}

// onTwoNodes runs scenario on the two nodes of a new deployment, alice's
// calls on the first and bob's on the second.
func onTwoNodes(t *testing.T, scenario func(t *testing.T, nodeA, nodeB string)) {
	s := newStack(t)
	n1, n2 := s.start(t, "node-1"), s.start(t, "node-2")
	scenario(t, n1.base, n2.base)
}

// friendsOn registers alice on nodeA and bob on nodeB, connects bob's socket
// there and makes them friends.
func friendsOn(t *testing.T, nodeA, nodeB string) (alice, bob *user, conv domain.ConversationID) {
	t.Helper()
	alice, bob = register(t, nodeA, "Alice"), register(t, nodeB, "Bob")
	bob.connect(t, nodeB)
	befriend(t, alice, bob)
	conv, err := domain.NewConversationID(alice.id, bob.id)
	require.NoError(t, err)
	return alice, bob, conv
}

// quiet checks that no frame named event came to u: it drains what u
// received, waiting at most d for more. Called after the events under test
// had seconds to arrive, so those already sent are in u's buffer.
func (u *user) quiet(t *testing.T, event string, d time.Duration) {
	t.Helper()
	timeout := time.After(d)
	for {
		select {
		case f, ok := <-u.frames:
			if !ok {
				return
			}
			if f.Event == event {
				t.Fatalf("%s: unexpected %s: %s", u.email, event, f.Data)
			}
		case <-timeout:
			return
		}
	}
}
