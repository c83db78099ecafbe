package realtime

import (
	"cmp"
	"context"
	"hash/fnv"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
)

// Defaults of HubConfig.
const (
	DefaultQueueSize       = 256
	DefaultHeartbeat       = 20 * time.Second
	DefaultPresenceTimeout = 5 * time.Second
	// DefaultMaxSocketsPerUser is room for a user's phone, desktop and
	// browser tabs, with some left for sockets of a network that changed and
	// that no ping has found dead yet.
	DefaultMaxSocketsPerUser = 10
)

// HubConfig configures a Hub.
type HubConfig struct {
	// Node names this server process in Presence. Required when Presence is set.
	Node ports.NodeID
	// Presence records which nodes hold sockets of which users. Nil means none
	// (a single node, or routing handled elsewhere).
	Presence ports.Presence
	// QueueSize bounds the frames waiting to be written on one socket; a socket
	// whose queue is full is closed (see the package doc). Default DefaultQueueSize.
	QueueSize int
	// Heartbeat is how often Run re-registers every local user in Presence. It
	// must be well below the Presence implementation's TTL. Default DefaultHeartbeat.
	Heartbeat time.Duration
	// PresenceTimeout bounds each Presence call. Default DefaultPresenceTimeout.
	PresenceTimeout time.Duration
	// Watcher, optional, is told when a user's first socket on this node
	// opens and when the last one closes (presence.go).
	Watcher ports.ConnectionWatcher
	// MaxSocketsPerUser caps the sockets one user holds on this node. A new
	// socket beyond the cap is accepted and the user's oldest one closed with
	// 4009 (reason "too many sockets: ..."): the newest socket is the one
	// its user looks at, and a stale one or a leak of a reconnecting client
	// cannot lock its user out. Default DefaultMaxSocketsPerUser; negative
	// means no cap.
	MaxSocketsPerUser int
	// Logger receives connection and presence problems. Nil discards them.
	Logger *slog.Logger
}

// Hub is the registry of this node's live sockets, of every transport. It
// implements ports.Notifier for local delivery and keeps Presence up to date.
type Hub struct {
	cfg HubConfig
	log *slog.Logger

	mu     sync.RWMutex
	users  map[domain.UserID]map[*Socket]uint64 // socket -> the order it was added in
	closed bool                                 // Shutdown started: no new sockets
	active int                                  // sockets registered and not yet torn down
	idle   chan struct{}                        // closed when closed && active == 0
	down   chan struct{}                        // closed when Shutdown starts
	// added numbers the registrations, so that each user's set of sockets
	// (users) says which is the oldest.
	added uint64

	// presenceLocks serialise the presence calls of one user (striped by hash),
	// so that a Register and an Unregister racing for the same user end in the
	// state the user's sockets are in.
	presenceLocks [64]sync.Mutex
	// told is what Watcher was last told of each user, under the user's
	// presence lock and toldMu.
	toldMu sync.Mutex
	told   map[domain.UserID]bool

	sockets   atomic.Int64
	overflows atomic.Int64
	reuses    atomic.Int64
}

var _ ports.Notifier = (*Hub)(nil)

// NewHub returns a Hub with defaults filled in.
func NewHub(cfg HubConfig) (*Hub, error) {
	if cfg.Presence != nil && cfg.Node == "" {
		return nil, domain.Errorf(domain.KindInvalid, "realtime: HubConfig.Node is required with Presence")
	}
	if cfg.MaxSocketsPerUser == 0 {
		cfg.MaxSocketsPerUser = DefaultMaxSocketsPerUser
	}
	if cfg.QueueSize < 0 || cfg.Heartbeat < 0 || cfg.PresenceTimeout < 0 {
		return nil, domain.Errorf(domain.KindInvalid, "realtime: negative HubConfig value")
	}
	if cfg.QueueSize == 0 {
		cfg.QueueSize = DefaultQueueSize
	}
	if cfg.Heartbeat == 0 {
		cfg.Heartbeat = DefaultHeartbeat
	}
	if cfg.PresenceTimeout == 0 {
		cfg.PresenceTimeout = DefaultPresenceTimeout
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Hub{
		cfg:   cfg,
		log:   log,
		users: make(map[domain.UserID]map[*Socket]uint64),
		idle:  make(chan struct{}),
		down:  make(chan struct{}),
	}, nil
}

// Sockets returns the number of open sockets on this node, all transports.
func (h *Hub) Sockets() int { return int(h.sockets.Load()) }

// Overflows returns how many sockets were closed because their queue was full.
func (h *Hub) Overflows() int64 { return h.overflows.Load() }

// SequenceReuses returns how many live messages came to a socket under a
// sequence it had sent under another message id: each is a broken sequencing
// guarantee upstream, logged at Error level and delivered all the same.
func (h *Hub) SequenceReuses() int64 { return h.reuses.Load() }

// Notify encodes ev once and queues it on every local socket of users. It never
// blocks: a socket whose queue is full is closed with the reconnect code. It
// fails only when ev cannot be encoded (KindInvalid); users without a socket
// on this node are skipped silently. The control event
// domain.SignalCloseSessions closes the users' sockets instead (4001).
func (h *Hub) Notify(_ context.Context, users []domain.UserID, ev domain.Event) error {
	if ev.Name == domain.SignalCloseSessions {
		h.closeSessions(users, ev)
		return nil
	}
	f, err := NewFrame(ev)
	if err != nil {
		return err
	}
	h.mu.RLock()
	defer h.mu.RUnlock()
	for _, u := range users {
		for s := range h.users[u] {
			s.Enqueue(f)
		}
	}
	return nil
}

// Run refreshes the presence records of every local user each Heartbeat until
// ctx is done or Shutdown starts. It returns nil then; presence errors are
// logged, never returned.
func (h *Hub) Run(ctx context.Context) error {
	if h.cfg.Presence == nil {
		select {
		case <-ctx.Done():
		case <-h.down:
		}
		return nil
	}
	t := time.NewTicker(h.cfg.Heartbeat)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-h.down:
			return nil
		case <-t.C:
		}
		h.mu.RLock()
		users := make([]domain.UserID, 0, len(h.users))
		for u := range h.users {
			users = append(users, u)
		}
		h.mu.RUnlock()
		h.heartbeat(ctx, users)
	}
}

// heartbeatBatch is how many users one RegisterBatch call refreshes.
const heartbeatBatch = 500

// heartbeat refreshes the presence records of users: in batches when the
// Presence is a ports.BatchPresence, else one by one.
func (h *Hub) heartbeat(ctx context.Context, users []domain.UserID) {
	bp, ok := h.cfg.Presence.(ports.BatchPresence)
	if !ok {
		for _, u := range users {
			if ctx.Err() != nil {
				return
			}
			h.syncPresence(ctx, u)
		}
		return
	}
	for chunk := range slices.Chunk(users, heartbeatBatch) {
		if ctx.Err() != nil {
			return
		}
		bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), h.cfg.PresenceTimeout)
		err := bp.RegisterBatch(bctx, chunk, h.cfg.Node)
		cancel()
		if err != nil {
			h.log.Warn("realtime: presence heartbeat failed", "users", len(chunk), "err", err)
		}
		// A user whose last socket closed while the batch was on its way may
		// have been registered again after their Unregister: settle each of
		// them one by one, under the user's presence lock.
		h.mu.RLock()
		var gone []domain.UserID
		for _, u := range chunk {
			if len(h.users[u]) == 0 {
				gone = append(gone, u)
			}
		}
		h.mu.RUnlock()
		for _, u := range gone {
			h.syncPresence(ctx, u)
		}
	}
}

// Shutdown stops accepting sockets, closes every open socket with
// CloseShutdown and waits until their goroutines have ended. When ctx ends
// first it drops the remaining connections without a handshake and returns
// ctx.Err(). It may be called more than once; later calls wait again.
func (h *Hub) Shutdown(ctx context.Context) error {
	h.mu.Lock()
	var all []*Socket
	if !h.closed {
		h.closed = true
		close(h.down)
		if h.active == 0 {
			close(h.idle)
		}
	}
	for _, set := range h.users {
		for s := range set {
			all = append(all, s)
		}
	}
	h.mu.Unlock()

	for _, s := range all {
		s.Close(CloseShutdown)
	}
	select {
	case <-h.idle:
		return nil
	case <-ctx.Done():
	}
	h.mu.RLock()
	all = all[:0]
	for _, set := range h.users {
		for s := range set {
			all = append(all, s)
		}
	}
	h.mu.RUnlock()
	for _, s := range all {
		s.Abort()
	}
	return ctx.Err()
}

// Closed reports whether Shutdown has started: transports refuse new
// sockets then.
func (h *Hub) Closed() bool {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.closed
}

// add registers s, so that Notify reaches it from now on, and closes the
// user's oldest sockets beyond MaxSocketsPerUser. It returns false once
// Shutdown has started. The caller records presence (syncPresence) when
// first is true: s is the user's only socket here.
func (h *Hub) add(s *Socket) (ok, first bool) {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return false, false
	}
	set := h.users[s.user]
	first = set == nil
	if first {
		set = make(map[*Socket]uint64)
		h.users[s.user] = set
	}
	h.added++
	set[s] = h.added
	h.active++
	over := h.overCap(set)
	h.mu.Unlock()
	h.sockets.Add(1)
	for _, old := range over {
		if old.Close(CloseReplaced) {
			h.log.Info(old.ep.cfg.Name+": too many sockets, closing the user's oldest", "user", s.user, "max", h.cfg.MaxSocketsPerUser)
		}
	}
	return true, first
}

// overCap returns the oldest sockets of set beyond MaxSocketsPerUser, not
// counting those already closing.
func (h *Hub) overCap(set map[*Socket]uint64) []*Socket {
	limit := h.cfg.MaxSocketsPerUser
	if limit < 0 || len(set) <= limit {
		return nil
	}
	open := make([]*Socket, 0, len(set))
	for s := range set {
		if s.ctx.Err() == nil {
			open = append(open, s)
		}
	}
	if len(open) <= limit {
		return nil
	}
	slices.SortFunc(open, func(a, b *Socket) int { return cmp.Compare(set[a], set[b]) })
	return open[:len(open)-limit]
}

// remove unregisters s, after both its goroutines ended.
func (h *Hub) remove(s *Socket) {
	h.mu.Lock()
	set := h.users[s.user]
	delete(set, s)
	last := len(set) == 0
	if last {
		delete(h.users, s.user)
	}
	h.mu.Unlock()
	h.sockets.Add(-1)
	if last {
		h.syncPresence(context.Background(), s.user)
	}
	h.mu.Lock()
	h.active--
	if h.closed && h.active == 0 {
		close(h.idle)
	}
	h.mu.Unlock()
}

// syncPresence makes the presence record of u match whether u has sockets
// here now. Calls for one user are serialised, and each reads the state under
// the lock, so the last call leaves the record right.
func (h *Hub) syncPresence(ctx context.Context, u domain.UserID) {
	p := h.cfg.Presence
	if p == nil && h.cfg.Watcher == nil {
		return
	}
	hash := fnv.New32a()
	_, _ = hash.Write([]byte(u))
	lock := &h.presenceLocks[hash.Sum32()%uint32(len(h.presenceLocks))]
	lock.Lock()
	defer lock.Unlock()

	h.mu.RLock()
	online := len(h.users[u]) > 0
	h.mu.RUnlock()

	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), h.cfg.PresenceTimeout)
	defer cancel()
	var err error
	switch {
	case p == nil:
	case online:
		err = p.Register(ctx, u, h.cfg.Node)
	default:
		err = p.Unregister(ctx, u, h.cfg.Node)
	}
	if err != nil {
		h.log.Warn("realtime: presence update failed", "user", u, "online", online, "err", err)
	}
	h.tell(ctx, u, online)
}
