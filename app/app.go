package app

import (
	"errors"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
)

// Config holds the ports an App runs on. Fields marked required must be set;
// the others have the documented defaults.
type Config struct {
	Users         ports.UserStore    // required
	Friends       ports.FriendStore  // required
	RefreshTokens ports.TokenStore   // required
	Messages      ports.MessageStore // required
	Receipts      ports.ReceiptStore // required
	Inbox         ports.InboxStore   // required

	Log      ports.Publisher // required: where sends, typing, receipts and friend events go
	Notifier ports.Notifier  // required: pushes events to connected devices

	Issuer    ports.TokenIssuer    // required
	Verifier  ports.TokenVerifier  // required
	Passwords ports.PasswordHasher // required

	Unread  ports.UnreadCache // optional: nil reads counts from Inbox every time
	Limiter ports.RateLimiter // optional: nil applies no send limit
	Clock   ports.Clock       // default: the system clock
	Metrics ports.Metrics     // default: discard
	Logger  *slog.Logger      // default: discard

	RefreshTTL time.Duration // lifetime of refresh tokens; default 30 days
	// RefreshReuseGrace is how long after its first rotation a refresh token
	// may be presented again without revoking its family, so that two tabs of
	// one login that refresh at the same moment both get new tokens. Default
	// 0: the old token stops working at once, as the wire contract says, and
	// a second use revokes the family.
	RefreshReuseGrace  time.Duration
	SearchLimit        int           // users per search answer; default 20
	ConversationsLimit int           // conversations per list answer; default 100
	TypingTimeout      time.Duration // bound on publishing a typing event; default 1 s
	// DeliveryMembers is how many members of message-delivery-group this
	// process runs. Each owns some partitions, so batches of different
	// partitions (different conversations) are stored and announced in
	// parallel; within a partition order is kept. Default 2.
	DeliveryMembers int

	// FriendshipChanges, optional, carries friendship changes between the
	// nodes of a cluster: this App announces its own and drops what it cached
	// about a pair another node changed. Set it on every node or on none.
	FriendshipChanges ports.FriendshipChanges
	// FriendshipCacheTTL is how long a read saying that two users may message
	// each other is reused by sends and typing, instead of reading the
	// friendship every time. Friendship changes made through this App take
	// effect at once, and so do those of other nodes when FriendshipChanges
	// is set; otherwise a change made on another node (a block) may take this
	// long to stop this node's sends. Default DefaultFriendshipCacheTTL, or
	// DefaultFriendshipCacheTTLWatched with FriendshipChanges; negative: read
	// every time.
	FriendshipCacheTTL time.Duration

	// Presence, optional, says which nodes hold sockets of which users (the
	// hubs keep it): the friends list tells who is online from it, and the
	// presence events are sent when a user's first device connects and
	// after the last one left (RunPresence). Nil: no friend is ever shown
	// online and no presence event is sent.
	Presence ports.Presence
	// Node names this process in Presence, so that a user's sockets on
	// other nodes are told from this node's own. Optional: without it a user
	// with sockets on two or more nodes counts as online elsewhere.
	Node ports.NodeID
	// PresenceDebounce is how long a user must stay without a socket before
	// friends are told they went offline: a reconnect within it (a network
	// change, a reload) tells nobody anything. Default
	// DefaultPresenceDebounce.
	PresenceDebounce time.Duration

	// AccountChanges, optional, carries account changes (revoked
	// credentials, deleted accounts) between the nodes of a cluster: this App
	// announces its own and forgets what it cached about a user another node
	// changed, so the tokens that no longer count are refused everywhere at
	// once. Without it other nodes refuse them within Guards.UserCacheTTL.
	// Set it on every node or on none.
	AccountChanges ports.AccountChanges

	// Devices, optional, keeps users' push devices (POST /devices); nil
	// answers those calls KindUnavailable. MaxDevices caps a user's devices;
	// default DefaultMaxDevices.
	Devices    ports.DeviceStore
	MaxDevices int
	// Push, optional, notifies the devices of receivers with no socket open
	// (push.go); with no Pushers the push group does not run.
	Push Push

	// Guards limit logins, registrations and searches, and refuse the tokens
	// of users that do not exist (guard.go).
	Guards Guards

	// Attachments configure files sent in messages (attachment.go).
	// Optional: without its stores, POST /attachments answers unavailable
	// and image and file messages carry whatever metadata the client gives.
	Attachments Attachments
}

// App implements ports.Service.
type App struct {
	cfg    Config
	logger *slog.Logger
	now    func() time.Time

	friends  *cachedFriends // also cfg.Friends
	known    *knownUsers
	presence chan presenceChange   // to RunPresence
	push     *pusher               // nil: push is off
	stages   ports.DeliveryMetrics // nil: cfg.Metrics does not time stages
	// presenceDrops counts the changes the full queue turned away.
	presenceDrops atomic.Int64

	dummy struct {
		mu   sync.Mutex
		hash string
	}
}

var _ ports.Service = (*App)(nil)

// New checks cfg and returns an App.
func New(cfg Config) (*App, error) {
	required := []struct {
		name string
		set  bool
	}{
		{"Users", cfg.Users != nil}, {"Friends", cfg.Friends != nil}, {"RefreshTokens", cfg.RefreshTokens != nil},
		{"Messages", cfg.Messages != nil}, {"Receipts", cfg.Receipts != nil}, {"Inbox", cfg.Inbox != nil},
		{"Log", cfg.Log != nil}, {"Notifier", cfg.Notifier != nil},
		{"Issuer", cfg.Issuer != nil}, {"Verifier", cfg.Verifier != nil}, {"Passwords", cfg.Passwords != nil},
	}
	var errs []error
	for _, r := range required {
		if !r.set {
			errs = append(errs, errors.New("app: Config."+r.name+" is required"))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if cfg.Clock == nil {
		cfg.Clock = ports.SystemClock{}
	}
	if cfg.Metrics == nil {
		cfg.Metrics = ports.NopMetrics{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.RefreshTTL <= 0 {
		cfg.RefreshTTL = 30 * 24 * time.Hour
	}
	cfg.RefreshReuseGrace = max(cfg.RefreshReuseGrace, 0)
	if cfg.SearchLimit <= 0 {
		cfg.SearchLimit = 20
	}
	if cfg.ConversationsLimit <= 0 {
		cfg.ConversationsLimit = 100
	}
	if cfg.TypingTimeout <= 0 {
		cfg.TypingTimeout = time.Second
	}
	if cfg.DeliveryMembers <= 0 {
		cfg.DeliveryMembers = 2
	}
	if cfg.MaxDevices <= 0 {
		cfg.MaxDevices = DefaultMaxDevices
	}
	if cfg.PresenceDebounce <= 0 {
		cfg.PresenceDebounce = DefaultPresenceDebounce
	}
	switch {
	case cfg.FriendshipCacheTTL != 0:
	case cfg.FriendshipChanges != nil:
		cfg.FriendshipCacheTTL = DefaultFriendshipCacheTTLWatched
	default:
		cfg.FriendshipCacheTTL = DefaultFriendshipCacheTTL
	}
	attachments, err := cfg.Attachments.withDefaults()
	if err != nil {
		return nil, err
	}
	cfg.Attachments = attachments
	guards, err := cfg.Guards.withDefaults()
	if err != nil {
		return nil, err
	}
	cfg.Guards = guards
	friends := newCachedFriends(cfg.Friends, cfg.FriendshipCacheTTL, cfg.FriendshipChanges, cfg.Logger)
	cfg.Friends = friends
	known := newKnownUsers(cfg.Users, cfg.Guards.UserCacheTTL, cfg.Clock.Now)
	if cfg.AccountChanges != nil {
		cfg.AccountChanges.WatchAccountChanges(known.Forget, known.ForgetAll)
	}
	push := newPusher(cfg.Push)
	if push != nil && cfg.Devices == nil {
		return nil, errors.New("app: Config.Push needs Config.Devices")
	}
	stages, _ := cfg.Metrics.(ports.DeliveryMetrics)
	return &App{cfg: cfg, logger: cfg.Logger, now: cfg.Clock.Now, friends: friends, known: known,
		presence: make(chan presenceChange, presenceQueue), push: push, stages: stages}, nil
}

// stage times one stage of the delivery path, when the metrics take it.
func (a *App) stage(name string, d time.Duration) {
	if a.stages != nil {
		a.stages.DeliveryStage(name, d)
	}
}

// participant checks that caller belongs to conv.
func participant(conv domain.ConversationID, caller domain.UserID) error {
	if !conv.Has(caller) {
		return domain.Errorf(domain.KindForbidden, "not a participant of this conversation")
	}
	return nil
}
