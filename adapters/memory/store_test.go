package memory_test

import (
	"testing"

	"github.com/messenger-go/messenger/adapters/memory"
	"github.com/messenger-go/messenger/ports"
	"github.com/messenger-go/messenger/ports/portstest"
)

func TestUserStore(t *testing.T) {
	portstest.RunUserStore(t, func(t *testing.T) ports.UserStore { return memory.NewStore() })
}

func TestFriendStore(t *testing.T) {
	portstest.RunFriendStore(t, func(t *testing.T) (ports.UserStore, ports.FriendStore) {
		s := memory.NewStore()
		return s, s
	})
}

func TestTokenStore(t *testing.T) {
	portstest.RunTokenStore(t, func(t *testing.T) (ports.UserStore, ports.TokenStore) {
		s := memory.NewStore()
		return s, s
	})
}

func TestMessageStore(t *testing.T) {
	portstest.RunMessageStore(t, func(t *testing.T) portstest.MessageStores {
		s := memory.NewStore()
		return portstest.MessageStores{Users: s, Messages: s, Receipts: s, Inbox: s}
	})
}
