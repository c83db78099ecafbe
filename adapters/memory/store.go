package memory

import (
	"context"
	"sync"

	"github.com/google/uuid"

	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
)

// Store keeps users, friendships, refresh tokens, messages and receipts. It
// implements ports.UserStore, ports.FriendStore, ports.TokenStore,
// ports.MessageStore, ports.ReceiptStore and ports.InboxStore.
//
// Each kind of data has its own lock; a method that reads users while holding
// another lock takes the users lock last, so locks are always taken in one
// order: friendships, tokens, messages, devices, users (DeleteUser holds
// them all).
type Store struct {
	usersMu sync.RWMutex
	users   map[domain.UserID]domain.User // deleted ones as domain.DeletedUser
	emails  map[string]domain.UserID
	deleted map[domain.UserID]bool

	friendsMu   sync.RWMutex
	friendships map[pair]domain.Friendship
	friendsOf   map[domain.UserID]map[pair]struct{}

	tokensMu  sync.Mutex
	tokens    map[string]*storedToken
	revoked   map[string]bool // families
	rotations int             // since the last sweep of expired tokens

	msgMu     sync.RWMutex
	convList  []*conversation
	convIndex map[domain.ConversationID]int // into convList
	messages  map[uuid.UUID]msgRef          // by message id
	userConvs map[domain.UserID]map[domain.ConversationID]*conversation

	attMu       sync.Mutex
	attachments map[domain.AttachmentID]domain.Attachment
	devicesMu   sync.RWMutex
	devices     map[domain.DeviceID]domain.Device
}

var (
	_ ports.UserStore    = (*Store)(nil)
	_ ports.FriendStore  = (*Store)(nil)
	_ ports.TokenStore   = (*Store)(nil)
	_ ports.MessageStore = (*Store)(nil)
	_ ports.ReceiptStore = (*Store)(nil)
	_ ports.InboxStore   = (*Store)(nil)
)

// NewStore returns an empty store.
func NewStore() *Store {
	return &Store{
		users:       map[domain.UserID]domain.User{},
		emails:      map[string]domain.UserID{},
		deleted:     map[domain.UserID]bool{},
		friendships: map[pair]domain.Friendship{},
		friendsOf:   map[domain.UserID]map[pair]struct{}{},
		tokens:      map[string]*storedToken{},
		revoked:     map[string]bool{},
		convIndex:   map[domain.ConversationID]int{},
		messages:    map[uuid.UUID]msgRef{},
		userConvs:   map[domain.UserID]map[domain.ConversationID]*conversation{},
		attachments: map[domain.AttachmentID]domain.Attachment{},
		devices:     map[domain.DeviceID]domain.Device{},
	}
}

// live fails like a real store would when the caller's context has ended.
func live(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return domain.Wrap(domain.KindUnavailable, err, "request ended")
	}
	return nil
}
