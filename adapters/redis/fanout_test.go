package redis_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/adapters/redis"
	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
)

// node is one server process: its own client, presence, fan-out and hub.
type node struct {
	id       ports.NodeID
	client   *redis.Client
	presence *redis.Presence
	fanout   *redis.Fanout
	hub      *recorder // nil when the node runs with another hub
}

// startNode builds a node on e whose hub holds users, registers them in
// presence and runs its subscriber until the end of the test.
func startNode(t *testing.T, e env, id ports.NodeID, users ...domain.UserID) *node {
	t.Helper()
	hub := newRecorder(users...)
	n := runNode(t, e, id, hub)
	n.hub = hub
	for _, u := range users {
		require.NoError(t, n.presence.Register(t.Context(), u, id))
	}
	return n
}

// runNode builds a node on e with local as its hub and runs its subscriber
// until the end of the test.
func runNode(t *testing.T, e env, id ports.NodeID, local ports.Notifier) *node {
	t.Helper()
	cfg := e.config()
	cfg.ClientName = e.Prefix + string(id) // CLIENT LIST tells the nodes apart
	client, err := redis.Open(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = client.Close() })
	n := &node{id: id, client: client}
	n.presence, err = redis.NewPresence(n.client, redis.PresenceConfig{})
	require.NoError(t, err)
	n.fanout, err = redis.NewFanout(n.client, redis.FanoutConfig{Node: id, Presence: n.presence, Local: local})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.fanout.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			assert.NoError(t, err, "Run of %s", id)
		case <-time.After(5 * time.Second):
			t.Errorf("Run of %s did not return after its context ended", id)
		}
	})
	return n
}

// probe is an event used to find out whether a route works.
func probe(i int) domain.Event {
	return domain.Event{Name: "probe", Data: map[string]int{"n": i}}
}

// routeCalls numbers the calls of untilRouted, so that each one recognises
// its own probes.
var routeCalls atomic.Int64

// untilRouted sends probes from `from` to user until to's hub got one of
// them, which proves to's subscription is live now; probes of earlier calls
// do not count. It returns how long that took.
func untilRouted(t *testing.T, from *node, to *node, user domain.UserID, timeout time.Duration) time.Duration {
	t.Helper()
	call := routeCalls.Add(1)
	mark := fmt.Sprintf(`"call":%d,`, call)
	start := time.Now()
	for i := 0; time.Since(start) < timeout; i++ {
		ev := domain.Event{Name: "probe", Data: map[string]int64{"call": call, "n": int64(i)}}
		_ = from.fanout.Notify(t.Context(), []domain.UserID{user}, ev)
		if to.hub.waitFor(50*time.Millisecond, func(ds []delivery) bool {
			for _, d := range ds {
				if d.User == user && d.Name == "probe" && strings.Contains(d.JSON, mark) {
					return true
				}
			}
			return false
		}) {
			return time.Since(start)
		}
	}
	t.Fatalf("no event from %s reached %s within %s", from.id, to.id, timeout)
	return 0
}

func TestFanoutAcrossNodes(t *testing.T) {
	e := redisEnv(t)
	alice, bob, carol, dave := domain.NewUserID(), domain.NewUserID(), domain.NewUserID(), domain.NewUserID()
	n1 := startNode(t, e, "n1", bob, carol)
	n2 := startNode(t, e, "n2", alice, carol)
	untilRouted(t, n1, n2, alice, 5*time.Second)
	untilRouted(t, n2, n1, bob, 5*time.Second)
	before1, before2 := len(n1.hub.deliveries()), len(n2.hub.deliveries())

	conv, err := domain.NewConversationID(alice, bob)
	require.NoError(t, err)
	msg := domain.Message{
		ID: domain.DeriveMessageID(bob, "c1"), ClientMessageID: "c1", ConversationID: conv, Sequence: 7,
		SenderID: bob, ReceiverID: alice, Text: "héllo <b>&</b> \u2028 \"quoted\"", Type: domain.MessageText,
		Metadata: json.RawMessage(`{"k":[1,2,{"x":null}]}`), SentAt: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC),
	}
	ev := domain.NewMessageEvent(msg)
	want, err := json.Marshal(ev)
	require.NoError(t, err)

	require.NoError(t, n1.fanout.Notify(t.Context(), []domain.UserID{alice, bob, carol, dave, alice}, ev))
	// Duplicates, if any, come before a marker sent after the event.
	settle(t, n1, n2, alice, carol)

	got1, got2 := withoutProbes(n1.hub.deliveries()[before1:]), withoutProbes(n2.hub.deliveries()[before2:])
	assert.ElementsMatch(t, []delivery{
		{User: bob, Name: domain.EventNewMessage, JSON: string(want)},
		{User: carol, Name: domain.EventNewMessage, JSON: string(want)},
	}, got1, "node 1 serves its own users directly, once")
	assert.ElementsMatch(t, []delivery{
		{User: alice, Name: domain.EventNewMessage, JSON: string(want)},
		{User: carol, Name: domain.EventNewMessage, JSON: string(want)},
	}, got2, "node 2 gets the event byte for byte, once per user")
}

func TestFanoutKeepsOrder(t *testing.T) {
	e := redisEnv(t)
	alice := domain.NewUserID()
	n1 := startNode(t, e, "n1")
	n2 := startNode(t, e, "n2", alice)
	untilRouted(t, n1, n2, alice, 5*time.Second)

	const count = 300
	for i := range count {
		require.NoError(t, n1.fanout.Notify(t.Context(), []domain.UserID{alice}, domain.Event{Name: "seq", Data: i}))
	}
	require.True(t, n2.hub.waitFor(10*time.Second, func([]delivery) bool { return countNamed(n2.hub.of(alice), "seq") == count }),
		"got %d of %d events", countNamed(n2.hub.of(alice), "seq"), count)
	i := 0
	for _, d := range n2.hub.of(alice) {
		if d.Name == "seq" {
			assert.JSONEq(t, fmt.Sprintf(`{"event":"seq","data":%d}`, i), d.JSON)
			i++
		}
	}
}

func countNamed(ds []delivery, name string) int {
	n := 0
	for _, d := range ds {
		if d.Name == name {
			n++
		}
	}
	return n
}

// A dead node's channel is not a user's route once its presence expired.
func TestFanoutSkipsExpiredNodes(t *testing.T) {
	e := redisEnv(t)
	alice := domain.NewUserID()
	c := open(t, e)
	clk := &clock{now: time.Now()}
	p, err := redis.NewPresence(c, redis.PresenceConfig{NodeTTL: time.Minute, Clock: clk})
	require.NoError(t, err)
	n2 := startNode(t, e, "n2", alice)
	sender, err := redis.NewFanout(c, redis.FanoutConfig{Node: "n1", Presence: p})
	require.NoError(t, err)
	untilRouted(t, &node{id: "n1", fanout: sender}, n2, alice, 5*time.Second)

	clk.advance(2 * time.Minute) // n2 stopped heartbeating, as far as n1 can tell
	before := len(n2.hub.of(alice))
	require.NoError(t, sender.Notify(t.Context(), []domain.UserID{alice}, domain.Event{Name: "expired", Data: 1}))
	// A node that still sees n2 sends a marker after it: the event, had it
	// been sent, would have come first.
	settle(t, runNode(t, e, "n3", newRecorder()), n2, alice)
	assert.Empty(t, withoutProbes(n2.hub.of(alice)[before:]), "an event went to a node whose presence expired")
}

// markers numbers the markers settle sends.
var markers atomic.Int64

// settle sends a marker event from `from` to users and waits until `to` got
// it for each of them: anything from sent to them earlier has arrived by then,
// as one sender's events to a node arrive in order.
func settle(t *testing.T, from, to *node, users ...domain.UserID) {
	t.Helper()
	n := markers.Add(1)
	require.NoError(t, from.fanout.Notify(t.Context(), users, domain.Event{Name: "marker", Data: n}))
	want := fmt.Sprintf(`{"event":"marker","data":%d}`, n)
	require.True(t, to.hub.waitFor(10*time.Second, func(ds []delivery) bool {
		got := map[domain.UserID]bool{}
		for _, d := range ds {
			if d.JSON == want {
				got[d.User] = true
			}
		}
		return len(got) == len(users)
	}), "marker %d did not reach every user", n)
}

// withoutProbes drops the probe and marker events the helpers send.
func withoutProbes(ds []delivery) []delivery {
	var out []delivery
	for _, d := range ds {
		if d.Name != "probe" && d.Name != "marker" {
			out = append(out, d)
		}
	}
	return out
}

// With Redis down, the node's own users are still served and the caller
// learns the cross-node hop failed.
func TestFanoutServesLocalUsersWithoutRedis(t *testing.T) {
	c, err := redis.Open(redis.Config{Addr: closedPort(t)})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	p, err := redis.NewPresence(c, redis.PresenceConfig{})
	require.NoError(t, err)
	bob := domain.NewUserID()
	hub := newRecorder(bob)
	f, err := redis.NewFanout(c, redis.FanoutConfig{Node: "n1", Presence: p, Local: hub})
	require.NoError(t, err)

	start := time.Now()
	err = f.Notify(t.Context(), []domain.UserID{bob, domain.NewUserID()}, probe(1))
	assert.Less(t, time.Since(start), 1500*time.Millisecond)
	assert.Equal(t, domain.KindUnavailable, domain.KindOf(err), "%v", err)
	assert.Len(t, hub.of(bob), 1)
	require.NoError(t, f.Notify(t.Context(), nil, probe(2)), "no users, nothing to do")
}

func TestFanoutRun(t *testing.T) {
	c, err := redis.Open(redis.Config{Addr: closedPort(t)})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	p, err := redis.NewPresence(c, redis.PresenceConfig{})
	require.NoError(t, err)

	sendOnly, err := redis.NewFanout(c, redis.FanoutConfig{Node: "n1", Presence: p})
	require.NoError(t, err)
	assert.Equal(t, domain.KindInvalid, domain.KindOf(sendOnly.Run(t.Context())), "Run without a hub")

	f, err := redis.NewFanout(c, redis.FanoutConfig{Node: "n1", Presence: p, Local: newRecorder()})
	require.NoError(t, err)
	// Two at the same time: one runs (retrying, as Redis is down), the other
	// is refused at once.
	ctx, cancel := context.WithCancel(t.Context())
	results := make(chan error, 2)
	for range 2 {
		go func() { results <- f.Run(ctx) }()
	}
	select {
	case err := <-results:
		assert.Equal(t, domain.KindConflict, domain.KindOf(err), "a second Run at the same time: %v", err)
	case <-time.After(5 * time.Second):
		t.Fatal("neither Run returned: a second Run at the same time was not refused")
	}
	cancel()
	select {
	case err := <-results:
		require.NoError(t, err, "Run ends without error when its context ends")
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	ctx2, cancel2 := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel2()
	require.NoError(t, f.Run(ctx2), "Run again after the first returned")
}

func TestNewFanoutValidates(t *testing.T) {
	c, err := redis.Open(redis.Config{Addr: "127.0.0.1:1"})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	p, err := redis.NewPresence(c, redis.PresenceConfig{})
	require.NoError(t, err)
	tests := []struct {
		name   string
		client *redis.Client
		cfg    redis.FanoutConfig
	}{
		{name: "nil client", cfg: redis.FanoutConfig{Node: "n1", Presence: p}},
		{name: "no node", client: c, cfg: redis.FanoutConfig{Presence: p}},
		{name: "no presence", client: c, cfg: redis.FanoutConfig{Node: "n1"}},
		{name: "tiny health interval", client: c, cfg: redis.FanoutConfig{Node: "n1", Presence: p, HealthInterval: time.Microsecond}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := redis.NewFanout(tt.client, tt.cfg)
			assert.Equal(t, domain.KindInvalid, domain.KindOf(err))
		})
	}
}

// Closing the client under a running subscriber ends Run with an error
// instead of retrying forever.
func TestFanoutRunEndsWhenClientCloses(t *testing.T) {
	e := redisEnv(t)
	alice := domain.NewUserID()
	n1 := startNode(t, e, "n1")
	c, err := redis.Open(e.config())
	require.NoError(t, err)
	p, err := redis.NewPresence(c, redis.PresenceConfig{})
	require.NoError(t, err)
	require.NoError(t, p.Register(t.Context(), alice, "n2"))
	n2 := &node{id: "n2", client: c, presence: p, hub: newRecorder(alice)}
	n2.fanout, err = redis.NewFanout(c, redis.FanoutConfig{Node: "n2", Presence: p, Local: n2.hub})
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- n2.fanout.Run(t.Context()) }()
	untilRouted(t, n1, n2, alice, 5*time.Second)

	require.NoError(t, c.Close())
	select {
	case err := <-done:
		assert.Equal(t, domain.KindUnavailable, domain.KindOf(err), "%v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("Run kept going on a closed client")
	}
}

func TestFanoutNotifyBatch(t *testing.T) {
	e := redisEnv(t)
	alice, bob, carol := domain.NewUserID(), domain.NewUserID(), domain.NewUserID()
	n1 := startNode(t, e, "n1", bob)
	n2 := startNode(t, e, "n2", alice, carol)
	untilRouted(t, n1, n2, alice, 5*time.Second)

	// Single events first, then batches: alice sees one sequence in order.
	const singles, batches, perBatch = 20, 5, 40
	for i := range singles {
		require.NoError(t, n1.fanout.Notify(t.Context(), []domain.UserID{alice}, domain.Event{Name: "seq", Data: i}))
	}
	next := singles
	for range batches {
		var batch []ports.Notification
		for range perBatch {
			batch = append(batch, ports.Notification{Users: []domain.UserID{alice, bob}, Event: domain.Event{Name: "seq", Data: next}})
			next++
		}
		batch = append(batch, ports.Notification{Users: nil, Event: probe(-1)}) // nobody: skipped
		require.NoError(t, n1.fanout.NotifyBatch(t.Context(), batch))
	}
	require.True(t, n2.hub.waitFor(10*time.Second, func([]delivery) bool { return countNamed(n2.hub.of(alice), "seq") == next }),
		"alice got %d of %d events", countNamed(n2.hub.of(alice), "seq"), next)
	assertSequence(t, n2.hub.of(alice), 0, next)
	assertSequence(t, n1.hub.of(bob), singles, next)
	assert.Zero(t, countNamed(n2.hub.of(carol), "seq"), "carol was never a recipient")

	// The hub refuses such an event itself; a fan-out without Local finds out
	// when it encodes the PUBLISH.
	publisher, err := redis.NewFanout(n1.client, redis.FanoutConfig{Node: "publisher", Presence: n1.presence})
	require.NoError(t, err)
	for name, f := range map[string]*redis.Fanout{"with Local": n1.fanout, "without Local": publisher} {
		t.Run(name+", an event that does not encode is skipped, the rest go", func(t *testing.T) {
			before := countNamed(n2.hub.of(carol), "after")
			err := f.NotifyBatch(t.Context(), []ports.Notification{
				{Users: []domain.UserID{carol}, Event: domain.Event{Name: "bad", Data: make(chan int)}},
				{Users: []domain.UserID{carol}, Event: domain.Event{Name: "after", Data: 1}},
			})
			assert.Equal(t, domain.KindInvalid, domain.KindOf(err), "%v", err)
			require.True(t, n2.hub.waitFor(5*time.Second, func([]delivery) bool { return countNamed(n2.hub.of(carol), "after") == before+1 }))
			assert.Zero(t, countNamed(n2.hub.of(carol), "bad"))
		})
	}

	t.Run("an event is encoded for other nodes only", func(t *testing.T) {
		var here, both atomic.Int32
		require.NoError(t, n1.fanout.NotifyBatch(t.Context(), []ports.Notification{
			{Users: []domain.UserID{bob}, Event: domain.Event{Name: "here", Data: encodeCounter{&here}}},
			{Users: []domain.UserID{bob, alice}, Event: domain.Event{Name: "both", Data: encodeCounter{&both}}},
		}))
		assert.EqualValues(t, 1, here.Load(), "bob's node encodes its own frame, and nothing goes to Redis")
		assert.EqualValues(t, 2, both.Load(), "a frame for bob here, one PUBLISH for alice's node")
		require.True(t, n2.hub.waitFor(5*time.Second, func([]delivery) bool { return countNamed(n2.hub.of(alice), "both") == 1 }))
		assert.Zero(t, countNamed(n2.hub.of(alice), "here"))
		assert.Equal(t, 1, countNamed(n1.hub.of(bob), "here"))
	})
}

// encodeCounter encodes as 1 and counts how often it was encoded.
type encodeCounter struct{ n *atomic.Int32 }

func (c encodeCounter) MarshalJSON() ([]byte, error) {
	c.n.Add(1)
	return []byte("1"), nil
}

// assertSequence checks that the "seq" events of ds carry from, from+1, ... to-1.
func assertSequence(t *testing.T, ds []delivery, from, to int) {
	t.Helper()
	i := from
	for _, d := range ds {
		if d.Name == "seq" {
			assert.JSONEq(t, fmt.Sprintf(`{"event":"seq","data":%d}`, i), d.JSON)
			i++
		}
	}
	assert.Equal(t, to, i, "events seen")
}

// changeLog records what a node's friendship-change watchers were told.
type changeLog struct {
	mu      sync.Mutex
	changes [][2]domain.UserID
	lost    int
}

func watch(n *node) *changeLog {
	l := &changeLog{}
	n.fanout.WatchFriendshipChanges(func(a, b domain.UserID) {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.changes = append(l.changes, [2]domain.UserID{a, b})
	}, func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.lost++
	})
	return l
}

func (l *changeLog) has(a, b domain.UserID) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Contains(l.changes, [2]domain.UserID{a, b})
}

func (l *changeLog) losses() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lost
}

// killSubscription closes n's pub/sub connection from the server side.
func killSubscription(t *testing.T, e env, n *node) {
	t.Helper()
	rdb := raw(t, e)
	list, err := rdb.ClientList(t.Context()).Result()
	require.NoError(t, err)
	killed := 0
	for _, line := range strings.Split(list, "\n") {
		fields := strings.Fields(line)
		if !slices.Contains(fields, "name="+e.Prefix+string(n.id)) || slices.Contains(fields, "sub=0") {
			continue
		}
		for _, f := range fields {
			if id, ok := strings.CutPrefix(f, "id="); ok {
				require.NoError(t, rdb.Do(t.Context(), "CLIENT", "KILL", "ID", id).Err())
				killed++
			}
		}
	}
	require.Equal(t, 1, killed, "one subscribed connection of %s", n.id)
}

func TestFanoutFriendshipChanges(t *testing.T) {
	e := redisEnv(t)
	u1, u2 := domain.NewUserID(), domain.NewUserID()
	n1, n2 := startNode(t, e, "n1", u1), startNode(t, e, "n2", u2)
	log1, log2 := watch(n1), watch(n2)
	// The node channels and the changes channel are subscribed together.
	untilRouted(t, n1, n2, u2, 5*time.Second)
	untilRouted(t, n2, n1, u1, 5*time.Second)

	a, b := domain.NewUserID(), domain.NewUserID()
	require.NoError(t, n1.fanout.AnnounceFriendshipChange(t.Context(), a, b))
	require.Eventually(t, func() bool { return log1.has(a, b) && log2.has(a, b) }, 5*time.Second, 5*time.Millisecond,
		"every node hears the change, the announcing one included")

	// A broken subscription may have missed changes: the watchers are told
	// when it is back, and announcements reach the node again.
	before := log2.losses()
	killSubscription(t, e, n2)
	require.Eventually(t, func() bool { return log2.losses() > before }, 10*time.Second, 5*time.Millisecond)
	c, d := domain.NewUserID(), domain.NewUserID()
	require.Eventually(t, func() bool {
		require.NoError(t, n1.fanout.AnnounceFriendshipChange(t.Context(), c, d))
		return log2.has(c, d)
	}, 10*time.Second, 50*time.Millisecond)
}
