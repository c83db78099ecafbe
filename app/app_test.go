package app_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/adapters/auth"
	"github.com/messenger-go/messenger/adapters/memory"
	"github.com/messenger-go/messenger/app"
	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
)

// world is an App on the memory adapters, with seams that fail on cue.
type world struct {
	app      *app.App
	store    *memory.Store
	log      *failingLog
	notes    *recorder
	cache    *failingCache
	limiter  *fakeLimiter
	appendFn func(ctx context.Context, batch []ports.Append) ([]ports.Appended, error)
}

// newWorld builds a world; opts adjust the App's configuration.
func newWorld(t *testing.T, opts ...func(*app.Config)) *world {
	t.Helper()
	key, err := auth.GenerateKey(2048)
	require.NoError(t, err)
	tokens, err := auth.NewTokens(auth.TokenConfig{PrivateKey: key})
	require.NoError(t, err)
	passwords, err := auth.NewPasswords(auth.PasswordConfig{Params: auth.TestPasswordParams})
	require.NoError(t, err)
	mlog, err := memory.NewLog(memory.LogConfig{})
	require.NoError(t, err)
	t.Cleanup(func() { mlog.Close() })
	w := &world{
		store:   memory.NewStore(),
		log:     &failingLog{Log: mlog},
		notes:   &recorder{},
		cache:   &failingCache{UnreadCache: memory.NewUnreadCache(memory.UnreadCacheConfig{})},
		limiter: &fakeLimiter{},
	}
	cfg := app.Config{
		Users: w.store, Friends: w.store, RefreshTokens: w.store,
		Messages: appendSeam{w}, Receipts: w.store, Inbox: w.store,
		Log: w.log, Notifier: w.notes,
		Issuer: tokens, Verifier: tokens, Passwords: passwords,
		Unread: w.cache, Limiter: w.limiter,
	}
	for _, o := range opts {
		o(&cfg)
	}
	w.app, err = app.New(cfg)
	require.NoError(t, err)
	return w
}

// appendSeam routes AppendBatch through world.appendFn when set.
type appendSeam struct{ w *world }

func (s appendSeam) AppendBatch(ctx context.Context, batch []ports.Append) ([]ports.Appended, error) {
	if s.w.appendFn != nil {
		return s.w.appendFn(ctx, batch)
	}
	return s.w.store.AppendBatch(ctx, batch)
}

func (s appendSeam) History(ctx context.Context, c domain.ConversationID, p domain.Page) ([]domain.Message, bool, error) {
	return s.w.store.History(ctx, c, p)
}

func (s appendSeam) MessageByID(ctx context.Context, id domain.MessageID) (domain.Message, error) {
	return s.w.store.MessageByID(ctx, id)
}

func (s appendSeam) ApplyChanges(ctx context.Context, changes []ports.Change) ([]ports.Changed, error) {
	return s.w.store.ApplyChanges(ctx, changes)
}

func (s appendSeam) ChangedSince(ctx context.Context, c domain.ConversationID, upTo domain.Sequence, limit int) ([]domain.Message, error) {
	return s.w.store.ChangedSince(ctx, c, upTo, limit)
}

// failingLog is the memory log with a Publish that fails while fail is set.
type failingLog struct {
	*memory.Log
	mu   sync.Mutex
	fail error
}

func (l *failingLog) Publish(ctx context.Context, topic string, key, value []byte) error {
	l.mu.Lock()
	err := l.fail
	l.mu.Unlock()
	if err != nil {
		return err
	}
	return l.Log.Publish(ctx, topic, key, value)
}

func (l *failingLog) setFail(err error) {
	l.mu.Lock()
	l.fail = err
	l.mu.Unlock()
}

type failingCache struct {
	ports.UnreadCache
	fail error
}

func (c *failingCache) Get(ctx context.Context, u domain.UserID) (domain.UnreadCounts, bool, error) {
	if c.fail != nil {
		return domain.UnreadCounts{}, false, c.fail
	}
	return c.UnreadCache.Get(ctx, u)
}

func (c *failingCache) Set(ctx context.Context, u domain.UserID, v domain.UnreadCounts) error {
	if c.fail != nil {
		return c.fail
	}
	return c.UnreadCache.Set(ctx, u, v)
}

type fakeLimiter struct{ answer error }

func (l *fakeLimiter) Allow(context.Context, string) error { return l.answer }

// recorder is a Notifier that keeps every event per user.
type recorder struct {
	mu     sync.Mutex
	events map[domain.UserID][]domain.Event
}

func (r *recorder) Notify(_ context.Context, users []domain.UserID, ev domain.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.events == nil {
		r.events = map[domain.UserID][]domain.Event{}
	}
	for _, u := range users {
		r.events[u] = append(r.events[u], ev)
	}
	return nil
}

func (r *recorder) of(u domain.UserID, name string) []domain.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []domain.Event
	for _, ev := range r.events[u] {
		if ev.Name == name {
			out = append(out, ev)
		}
	}
	return out
}

func (w *world) user(t *testing.T, first string) domain.UserID {
	t.Helper()
	s, err := w.app.Register(context.Background(), domain.Registration{
		FirstName: first, LastName: "Test", Email: first + "." + domain.NewUUID()[:8] + "@example.com", Password: "long enough password",
	}, netip.Addr{})
	require.NoError(t, err)
	return s.User.ID
}

func (w *world) friends(t *testing.T, a, b domain.UserID) {
	t.Helper()
	ctx := context.Background()
	_, err := w.app.SendFriendRequest(ctx, a, b)
	require.NoError(t, err)
	_, err = w.app.AcceptFriendRequest(ctx, b, a)
	require.NoError(t, err)
}

// run consumes every group until the test ends.
func (w *world) run(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.app.RunConsumers(ctx, w.log) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})
}

func (w *world) history(t *testing.T, a, b domain.UserID) []domain.Message {
	t.Helper()
	conv, err := domain.NewConversationID(a, b)
	require.NoError(t, err)
	ms, _, err := w.app.History(context.Background(), a, conv, domain.Page{Limit: domain.MaxPageLimit})
	require.NoError(t, err)
	return ms
}

func record(t *testing.T, m domain.Message, offset int64) ports.Record {
	t.Helper()
	v, err := json.Marshal(m)
	require.NoError(t, err)
	return ports.Record{Topic: ports.TopicChatMessages, Key: []byte(m.ConversationID), Value: v, Offset: offset}
}

func draft(t *testing.T, from, to domain.UserID, text, cid string) domain.Message {
	t.Helper()
	m, err := domain.NewMessage(domain.Draft{SenderID: from, ReceiverID: to, Text: text, ClientMessageID: cid}, time.Now())
	require.NoError(t, err)
	return m
}

func TestSendFailsWhenTheLogDoesNotAcceptAndStoresNothing(t *testing.T) {
	w := newWorld(t)
	a, b := w.user(t, "ann"), w.user(t, "ben")
	w.friends(t, a, b)
	w.run(t)
	ctx := context.Background()

	w.log.setFail(domain.Errorf(domain.KindUnavailable, "broker down"))
	_, err := w.app.SendMessage(ctx, domain.Draft{SenderID: a, ReceiverID: b, Text: "lost?", ClientMessageID: "c1"})
	require.Error(t, err)
	assert.Equal(t, domain.KindUnavailable, domain.KindOf(err))

	w.log.setFail(nil)
	r, err := w.app.SendMessage(ctx, domain.Draft{SenderID: a, ReceiverID: b, Text: "retried", ClientMessageID: "c1"})
	require.NoError(t, err)
	require.Eventually(t, func() bool { return len(w.history(t, a, b)) == 1 }, 5*time.Second, 5*time.Millisecond)
	got := w.history(t, a, b)
	assert.Equal(t, r.MessageID, got[0].ID)
	assert.Equal(t, "retried", got[0].Text, "only the accepted send is stored (I3)")
}

func TestSendChecksFriendshipAndLimits(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	a, b, c := w.user(t, "ann"), w.user(t, "ben"), w.user(t, "cat")
	w.friends(t, a, b)
	_, err := w.app.Block(ctx, c, a)
	require.NoError(t, err)

	tests := []struct {
		name    string
		to      domain.UserID
		limiter error
		kind    domain.Kind
	}{
		{"friends may send", b, nil, domain.KindInternal},
		{"blocked", c, nil, domain.KindForbidden},
		{"strangers", w.user(t, "dan"), nil, domain.KindForbidden},
		{"rate limited", b, domain.Errorf(domain.KindRateLimited, "slow down"), domain.KindRateLimited},
		{"limiter down fails open", b, domain.Errorf(domain.KindUnavailable, "redis down"), domain.KindInternal},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w.limiter.answer = tc.limiter
			_, err := w.app.SendMessage(ctx, domain.Draft{SenderID: a, ReceiverID: tc.to, Text: "hi"})
			if tc.kind == domain.KindInternal {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Equal(t, tc.kind, domain.KindOf(err))
		})
	}
}

func TestDeliverIsIdempotentAndAnnouncesToBoth(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	a, b := w.user(t, "ann"), w.user(t, "ben")
	batch := []ports.Record{
		record(t, draft(t, a, b, "one", "1"), 0),
		record(t, draft(t, b, a, "two", "2"), 1),
		record(t, draft(t, a, b, "one", "1"), 2), // the same send, published twice
	}
	rejected, err := w.app.HandleChatMessages(ctx, batch)
	require.NoError(t, err)
	require.Empty(t, rejected)
	// The whole batch again: a redelivery after a crash before the offset commit.
	rejected, err = w.app.HandleChatMessages(ctx, batch)
	require.NoError(t, err)
	require.Empty(t, rejected)

	got := w.history(t, a, b)
	require.Len(t, got, 2, "I2: stored once")
	assert.Equal(t, domain.Sequence(1), got[0].Sequence)
	assert.Equal(t, domain.Sequence(2), got[1].Sequence)
	for _, u := range []domain.UserID{a, b} {
		evs := w.notes.of(u, domain.EventNewMessage)
		require.Len(t, evs, 6, "each record announced to both members, duplicates included")
		assert.Equal(t, domain.Sequence(1), evs[0].Data.(domain.Message).Sequence)
		assert.Equal(t, domain.Sequence(2), evs[1].Data.(domain.Message).Sequence)
	}
}

func TestDeliverRejectsPoisonAndKeepsTheRest(t *testing.T) {
	w := newWorld(t)
	a, b := w.user(t, "ann"), w.user(t, "ben")
	bad := draft(t, a, b, "tampered", "t")
	bad.ID = domain.MessageID(domain.NewUUID()) // no longer derived from sender + clientMessageId
	batch := []ports.Record{
		{Topic: ports.TopicChatMessages, Value: []byte("{not json"), Offset: 0},
		record(t, bad, 1),
		record(t, draft(t, a, b, "fine", "f"), 2),
	}
	rejected, err := w.app.HandleChatMessages(context.Background(), batch)
	require.NoError(t, err)
	require.Len(t, rejected, 2)
	assert.Equal(t, int64(0), rejected[0].Record.Offset)
	assert.Contains(t, rejected[0].Reason, "undecodable")
	assert.Equal(t, int64(1), rejected[1].Record.Offset)
	assert.Contains(t, rejected[1].Reason, "invalid")
	got := w.history(t, a, b)
	require.Len(t, got, 1)
	assert.Equal(t, "fine", got[0].Text)
	assert.Equal(t, domain.Sequence(1), got[0].Sequence)
}

func TestDeliverReturnsStoreFailuresForRetry(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	a, b := w.user(t, "ann"), w.user(t, "ben")
	w.appendFn = func(context.Context, []ports.Append) ([]ports.Appended, error) {
		return nil, domain.Errorf(domain.KindUnavailable, "database down")
	}
	batch := []ports.Record{record(t, draft(t, a, b, "x", "x"), 0)}
	_, err := w.app.HandleChatMessages(ctx, batch)
	require.Error(t, err, "nothing committed: the consumer retries")
	assert.Empty(t, w.notes.of(b, domain.EventNewMessage), "nothing announced before it is stored")

	w.appendFn = nil
	_, err = w.app.HandleChatMessages(ctx, batch)
	require.NoError(t, err)
	assert.Len(t, w.history(t, a, b), 1)
	assert.Len(t, w.notes.of(b, domain.EventNewMessage), 1)
}

func TestDeliverIsolatesWhatTheStoreCallsInvalid(t *testing.T) {
	w := newWorld(t)
	a, b := w.user(t, "ann"), w.user(t, "ben")
	poison := draft(t, a, b, "the store refuses this one", "p")
	w.appendFn = func(ctx context.Context, batch []ports.Append) ([]ports.Appended, error) {
		for _, ap := range batch {
			if ap.Message.ID == poison.ID {
				return nil, domain.Errorf(domain.KindInvalid, "refused")
			}
		}
		return w.store.AppendBatch(ctx, batch)
	}
	batch := []ports.Record{record(t, draft(t, a, b, "before", "1"), 0), record(t, poison, 1), record(t, draft(t, a, b, "after", "2"), 2)}
	rejected, err := w.app.HandleChatMessages(context.Background(), batch)
	require.NoError(t, err)
	require.Len(t, rejected, 1)
	assert.Equal(t, int64(1), rejected[0].Record.Offset)
	got := w.history(t, a, b)
	require.Len(t, got, 2)
	assert.Equal(t, []string{"before", "after"}, []string{got[0].Text, got[1].Text})
}

func TestReadReceiptsAreMonotonic(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	a, b := w.user(t, "ann"), w.user(t, "ben")
	var batch []ports.Record
	for i := range 3 {
		batch = append(batch, record(t, draft(t, a, b, "m", string(rune('a'+i))), int64(i)))
	}
	_, err := w.app.HandleChatMessages(ctx, batch)
	require.NoError(t, err)
	conv, _ := domain.NewConversationID(a, b)

	receipt := func(upTo domain.Sequence) ports.Record {
		v, _ := json.Marshal(map[string]any{"conversationId": conv, "readerId": b, "upToSequenceId": upTo, "at": time.Now()})
		return ports.Record{Topic: ports.TopicReadReceipts, Value: v}
	}
	rejected, err := w.app.HandleReadReceipts(ctx, []ports.Record{receipt(2), receipt(1), receipt(2), receipt(99)})
	require.NoError(t, err)
	require.Empty(t, rejected)
	evs := w.notes.of(a, domain.EventReadReceipt)
	require.Len(t, evs, 2, "only advances are announced")
	assert.Equal(t, domain.Sequence(2), evs[0].Data.(domain.ReadReceipt).UpTo)
	assert.Equal(t, domain.Sequence(3), evs[1].Data.(domain.ReadReceipt).UpTo, "clamped to the last sequence")

	u, err := w.app.UnreadCount(ctx, b)
	require.NoError(t, err)
	assert.Zero(t, u.Total)

	rejected, err = w.app.HandleReadReceipts(ctx, []ports.Record{{Value: []byte("?")}})
	require.NoError(t, err)
	assert.Len(t, rejected, 1)
}

func TestUnreadCountSurvivesCacheFailureAndIsInvalidated(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	a, b := w.user(t, "ann"), w.user(t, "ben")
	_, err := w.app.HandleChatMessages(ctx, []ports.Record{record(t, draft(t, a, b, "1", "1"), 0)})
	require.NoError(t, err)
	u, err := w.app.UnreadCount(ctx, b)
	require.NoError(t, err)
	require.Equal(t, int64(1), u.Total)

	// A new message drops the cached count: the next answer is exact.
	_, err = w.app.HandleChatMessages(ctx, []ports.Record{record(t, draft(t, a, b, "2", "2"), 1)})
	require.NoError(t, err)
	u, err = w.app.UnreadCount(ctx, b)
	require.NoError(t, err)
	require.Equal(t, int64(2), u.Total)

	w.cache.fail = domain.Errorf(domain.KindUnavailable, "redis down")
	u, err = w.app.UnreadCount(ctx, b)
	require.NoError(t, err, "a cache outage costs only the cache")
	require.Equal(t, int64(2), u.Total)
}

// hookedInbox runs during, once, while it reads unread counts.
type hookedInbox struct {
	ports.InboxStore
	during func()
}

func (h *hookedInbox) UnreadCounts(ctx context.Context, u domain.UserID) (domain.UnreadCounts, error) {
	c, err := h.InboxStore.UnreadCounts(ctx, u)
	if f := h.during; f != nil {
		h.during = nil
		f()
	}
	return c, err
}

func TestUnreadCountReadDuringAMessageIsNotCached(t *testing.T) {
	var inbox *hookedInbox
	w := newWorld(t, func(c *app.Config) {
		inbox = &hookedInbox{InboxStore: c.Inbox}
		c.Inbox = inbox
	})
	ctx := context.Background()
	a, b := w.user(t, "ann"), w.user(t, "ben")
	_, err := w.app.HandleChatMessages(ctx, []ports.Record{record(t, draft(t, a, b, "1", "1"), 0)})
	require.NoError(t, err)

	// Message 2 is stored and invalidates b's counts after the read of a
	// miss saw 1 and before that answer is cached. The cache's hold keeps
	// the stale answer out; the App's own guard, for reads slower than the
	// hold allows for, is TestUnreadCountSlowReadIsNotCached's.
	inbox.during = func() {
		_, err := w.app.HandleChatMessages(ctx, []ports.Record{record(t, draft(t, a, b, "2", "2"), 1)})
		require.NoError(t, err)
	}
	u, err := w.app.UnreadCount(ctx, b)
	require.NoError(t, err)
	require.Equal(t, int64(1), u.Total, "the answer of the read itself")
	u, err = w.app.UnreadCount(ctx, b)
	require.NoError(t, err)
	assert.Equal(t, int64(2), u.Total, "the stale answer was not cached")
}

func TestAccounts(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	s, err := w.app.Register(ctx, domain.Registration{FirstName: " Ann ", LastName: "Lee", Email: "Ann@Example.com", Password: "long enough password"}, netip.Addr{})
	require.NoError(t, err)
	assert.Equal(t, "ann@example.com", s.User.Email)
	assert.Equal(t, "Ann", s.User.FirstName)

	_, err = w.app.Register(ctx, domain.Registration{FirstName: "A", LastName: "B", Email: "ann@example.com", Password: "long enough password"}, netip.Addr{})
	assert.Equal(t, domain.KindConflict, domain.KindOf(err))

	_, errWrong := w.app.Login(ctx, "ann@example.com", "wrong password!", netip.Addr{})
	_, errUnknown := w.app.Login(ctx, "nobody@example.com", "wrong password!", netip.Addr{})
	require.Error(t, errWrong)
	assert.Equal(t, errWrong.Error(), errUnknown.Error(), "unknown email and wrong password look alike")
	assert.Equal(t, domain.KindUnauthenticated, domain.KindOf(errUnknown))

	login, err := w.app.Login(ctx, "ANN@example.com", "long enough password", netip.Addr{})
	require.NoError(t, err)
	id, expires, err := w.app.Authenticate(ctx, login.AccessToken)
	require.NoError(t, err)
	assert.Equal(t, s.User.ID, id)
	assert.WithinDuration(t, time.Now().Add(login.ExpiresIn), expires, time.Minute,
		"the token is accepted until its expiry (and the leeway)")

	next, err := w.app.Refresh(ctx, login.RefreshToken)
	require.NoError(t, err)
	_, err = w.app.Refresh(ctx, login.RefreshToken)
	assert.Equal(t, domain.KindUnauthenticated, domain.KindOf(err), "the rotated token stops working")
	_, err = w.app.Refresh(ctx, next.RefreshToken)
	assert.Equal(t, domain.KindUnauthenticated, domain.KindOf(err), "reuse of a rotated token revokes its family")

	require.NoError(t, w.app.Logout(ctx, s.RefreshToken))
	_, err = w.app.Refresh(ctx, s.RefreshToken)
	assert.Equal(t, domain.KindUnauthenticated, domain.KindOf(err))
}

// fixedClock is a clock a test moves by hand.
type fixedClock struct{ now time.Time }

func (c *fixedClock) Now() time.Time { return c.now }

func TestRefreshReuseGrace(t *testing.T) {
	const grace = 10 * time.Second
	clock := &fixedClock{now: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	w := newWorld(t, func(c *app.Config) { c.Clock, c.RefreshReuseGrace = clock, grace })
	ctx := context.Background()
	s, err := w.app.Register(ctx, domain.Registration{FirstName: "Ann", LastName: "Lee", Email: "ann@example.com", Password: "long enough password"}, netip.Addr{})
	require.NoError(t, err)

	next, err := w.app.Refresh(ctx, s.RefreshToken)
	require.NoError(t, err)
	clock.now = clock.now.Add(grace - time.Second)
	other, err := w.app.Refresh(ctx, s.RefreshToken)
	require.NoError(t, err, "another tab refreshing the same token within the grace")
	assert.NotEqual(t, next.RefreshToken, other.RefreshToken)

	clock.now = clock.now.Add(time.Second)
	_, err = w.app.Refresh(ctx, s.RefreshToken)
	assert.Equal(t, domain.KindUnauthenticated, domain.KindOf(err), "a rotated token presented after the grace stops working")
	_, err = w.app.Refresh(ctx, next.RefreshToken)
	assert.Equal(t, domain.KindUnauthenticated, domain.KindOf(err), "and revokes its family")
}

func TestFriendEvents(t *testing.T) {
	w := newWorld(t)
	w.run(t)
	ctx := context.Background()
	a, b := w.user(t, "ann"), w.user(t, "ben")
	_, err := w.app.SendFriendRequest(ctx, a, b)
	require.NoError(t, err)
	pending, err := w.app.PendingRequests(ctx, b)
	require.NoError(t, err)
	require.Len(t, pending, 1)
	assert.Equal(t, a, pending[0].User.ID)

	// b asking a back accepts a's request.
	f, err := w.app.SendFriendRequest(ctx, b, a)
	require.NoError(t, err)
	assert.Equal(t, domain.FriendAccepted, f.Status)
	require.Eventually(t, func() bool {
		return len(w.notes.of(b, domain.EventNewFriendRequest)) == 1 && len(w.notes.of(a, domain.EventFriendRequestAccepted)) == 1
	}, 5*time.Second, 5*time.Millisecond)
	assert.Equal(t, a, w.notes.of(b, domain.EventNewFriendRequest)[0].Data.(domain.UserPayload).User.ID)
	assert.Equal(t, b, w.notes.of(a, domain.EventFriendRequestAccepted)[0].Data.(domain.UserPayload).User.ID)

	// A failed publish does not undo a stored change.
	w.log.setFail(errors.New("broker down"))
	c := w.user(t, "cat")
	_, err = w.app.SendFriendRequest(ctx, a, c)
	require.NoError(t, err)
	pending, err = w.app.PendingRequests(ctx, c)
	require.NoError(t, err)
	assert.Len(t, pending, 1)
}

func TestStaleTypingIndicatorsAreDropped(t *testing.T) {
	w := newWorld(t)
	a, b := w.user(t, "ann"), w.user(t, "ben")
	rec := func(at time.Time) ports.Record {
		v, _ := json.Marshal(map[string]any{"senderId": a, "receiverId": b, "isTyping": true})
		return ports.Record{Topic: ports.TopicTyping, Value: v, Time: at}
	}
	rejected, err := w.app.HandleTyping(context.Background(), []ports.Record{rec(time.Now().Add(-time.Minute)), rec(time.Now())})
	require.NoError(t, err)
	require.Empty(t, rejected)
	require.Len(t, w.notes.of(b, domain.EventTypingIndicator), 1, "only the fresh indicator is shown")
}

// batchRecorder is a recorder that also takes batches, and counts the calls.
type batchRecorder struct {
	recorder
	mu      sync.Mutex
	batches []int // size of each NotifyBatch call
	singles int   // Notify calls
}

func (r *batchRecorder) Notify(ctx context.Context, users []domain.UserID, ev domain.Event) error {
	r.mu.Lock()
	r.singles++
	r.mu.Unlock()
	return r.recorder.Notify(ctx, users, ev)
}

func (r *batchRecorder) NotifyBatch(ctx context.Context, batch []ports.Notification) error {
	r.mu.Lock()
	r.batches = append(r.batches, len(batch))
	r.mu.Unlock()
	for _, n := range batch {
		_ = r.recorder.Notify(ctx, n.Users, n.Event)
	}
	return nil
}

func TestDeliverAnnouncesABatchInOneCall(t *testing.T) {
	notes := &batchRecorder{}
	w := newWorld(t, func(c *app.Config) { c.Notifier = notes })
	ctx := context.Background()
	a, b := w.user(t, "ann"), w.user(t, "ben")
	batch := []ports.Record{
		record(t, draft(t, a, b, "one", "1"), 0),
		record(t, draft(t, b, a, "two", "2"), 1),
		record(t, draft(t, a, b, "three", "3"), 2),
	}
	_, err := w.app.HandleChatMessages(ctx, batch)
	require.NoError(t, err)
	notes.mu.Lock()
	assert.Equal(t, []int{3}, notes.batches, "one NotifyBatch with every stored message")
	assert.Zero(t, notes.singles)
	notes.mu.Unlock()
	for _, u := range []domain.UserID{a, b} {
		evs := notes.of(u, domain.EventNewMessage)
		require.Len(t, evs, 3)
		for i, ev := range evs {
			assert.Equal(t, domain.Sequence(i+1), ev.Data.(domain.Message).Sequence, "batch order is sequence order")
		}
	}
}

// stageMetrics keeps what DeliveryMetrics is told.
type stageMetrics struct {
	ports.NopMetrics
	mu      sync.Mutex
	stages  map[string][]time.Duration
	batches []int
}

func (s *stageMetrics) DeliveryStage(stage string, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stages == nil {
		s.stages = map[string][]time.Duration{}
	}
	s.stages[stage] = append(s.stages[stage], d)
}

func (s *stageMetrics) DeliveryBatch(records int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.batches = append(s.batches, records)
}

func TestDeliveryStagesAreTimed(t *testing.T) {
	metrics := &stageMetrics{}
	w := newWorld(t, func(c *app.Config) { c.Metrics = metrics })
	ctx := context.Background()
	a, b := w.user(t, "ann"), w.user(t, "ben")
	w.friends(t, a, b)
	_, err := w.app.SendMessage(ctx, domain.Draft{SenderID: a, ReceiverID: b, Text: "hi", ClientMessageID: "p"})
	require.NoError(t, err)

	w.appendFn = func(ctx context.Context, batch []ports.Append) ([]ports.Appended, error) {
		time.Sleep(20 * time.Millisecond)
		return w.store.AppendBatch(ctx, batch)
	}
	old := draft(t, a, b, "old", "o")
	old.SentAt = time.Now().Add(-time.Second)
	batch := []ports.Record{record(t, old, 0), record(t, draft(t, b, a, "new", "n"), 1)}
	_, err = w.app.HandleChatMessages(ctx, batch)
	require.NoError(t, err)

	metrics.mu.Lock()
	defer metrics.mu.Unlock()
	require.Len(t, metrics.stages[ports.StagePublish], 1, "one send published")
	consume := metrics.stages[ports.StageConsume]
	require.Len(t, consume, 2, "per message")
	assert.GreaterOrEqual(t, consume[0], time.Second, "from the message's send time")
	assert.Less(t, consume[1], time.Second)
	store := metrics.stages[ports.StageStore]
	require.Len(t, store, 1, "per batch")
	assert.GreaterOrEqual(t, store[0], 20*time.Millisecond)
	assert.Len(t, metrics.stages[ports.StageAnnounce], 1, "per batch")
	assert.Equal(t, []int{2}, metrics.batches)
}
