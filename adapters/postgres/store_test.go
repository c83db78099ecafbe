package postgres_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/adapters/postgres"
	"github.com/messenger-go/messenger/ports"
	"github.com/messenger-go/messenger/ports/portstest"
	"github.com/messenger-go/messenger/testenv"
)

// newStore returns a store on a fresh, migrated database, closed when the
// test ends.
func newStore(t testing.TB) *postgres.Store {
	t.Helper()
	return newStoreWith(t, postgres.Config{})
}

// newStoreWith is newStore with a config; Migrate is set, and MaxConns to 8
// unless cfg sets it.
func newStoreWith(t testing.TB, cfg postgres.Config) *postgres.Store {
	t.Helper()
	cfg.Migrate = true
	if cfg.MaxConns == 0 {
		cfg.MaxConns = 8
	}
	s, err := postgres.Open(t.Context(), testenv.Postgres(t), cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestUserStore(t *testing.T) {
	portstest.RunUserStore(t, func(t *testing.T) (ports.UserStore, ports.FriendStore) {
		s := newStore(t)
		return s, s
	})
}

func TestFriendStore(t *testing.T) {
	portstest.RunFriendStore(t, func(t *testing.T) (ports.UserStore, ports.FriendStore) {
		s := newStore(t)
		return s, s
	})
}

func TestTokenStore(t *testing.T) {
	portstest.RunTokenStore(t, func(t *testing.T) (ports.UserStore, ports.TokenStore) {
		s := newStore(t)
		return s, s
	})
}

func TestMessageStore(t *testing.T) {
	portstest.RunMessageStore(t, func(t *testing.T) portstest.MessageStores {
		s := newStore(t)
		return portstest.MessageStores{Users: s, Messages: s, Receipts: s, Inbox: s}
	})
}

func TestAccountStore(t *testing.T) {
	portstest.RunAccountStore(t, func(t *testing.T) portstest.AccountStores {
		s := newStore(t)
		return portstest.AccountStores{Users: s, Friends: s, Tokens: s, Messages: s, Receipts: s, Inbox: s}
	})
}

func TestAttachmentStore(t *testing.T) {
	portstest.RunAttachmentStore(t, func(t *testing.T) ports.AttachmentStore { return newStore(t) })
}

func TestDeviceStore(t *testing.T) {
	portstest.RunDeviceStore(t, func(t *testing.T) (ports.UserStore, ports.DeviceStore) {
		s := newStore(t)
		return s, s
	})
}
