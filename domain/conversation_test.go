package domain_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/domain"
)

func TestNewConversationID(t *testing.T) {
	want := domain.ConversationID(string(alice) + "_" + string(bob))
	tests := []struct {
		name string
		a, b domain.UserID
		want domain.ConversationID // "" means rejected
	}{
		{"sorted order", alice, bob, want},
		{"reverse order gives the same id", bob, alice, want},
		{"other pair", bob, carol, domain.ConversationID(string(bob) + "_" + string(carol))},
		{"same user is rejected", alice, alice, ""},
		{"two empty ids are rejected", "", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := domain.NewConversationID(tc.a, tc.b)
			if tc.want == "" {
				requireKind(t, err, domain.KindInvalid)
				assert.Empty(t, got)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
			assert.Equal(t, string(tc.want), got.String())
		})
	}
}

func TestParseConversationID(t *testing.T) {
	canonical := string(alice) + "_" + string(bob)
	tests := []struct {
		name string
		in   string
		want domain.ConversationID // "" means rejected
	}{
		{"canonical", canonical, domain.ConversationID(canonical)},
		{"unsorted is put in order", string(bob) + "_" + string(alice), domain.ConversationID(canonical)},
		{"upper case is lowered", strings.ToUpper(canonical), domain.ConversationID(canonical)},
		{"upper case and unsorted", strings.ToUpper(string(bob) + "_" + string(alice)), domain.ConversationID(canonical)},
		{"empty", "", ""},
		{"one user only", string(alice), ""},
		{"separator only", "_", ""},
		{"missing right side", string(alice) + "_", ""},
		{"missing left side", "_" + string(alice), ""},
		{"same user twice", string(alice) + "_" + string(alice), ""},
		{"same user twice in different case", string(alice) + "_" + strings.ToUpper(string(alice)), ""},
		{"three users", canonical + "_" + string(carol), ""},
		{"wrong separator", string(alice) + "-" + string(bob), ""},
		{"colon separator", string(alice) + ":" + string(bob), ""},
		{"invalid left id", "not-a-uuid_" + string(bob), ""},
		{"invalid right id", string(alice) + "_not-a-uuid", ""},
		{"surrounding space", " " + canonical + " ", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := domain.ParseConversationID(tc.in)
			if tc.want == "" {
				requireKind(t, err, domain.KindInvalid)
				assert.Empty(t, got)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
			again, err := domain.ParseConversationID(string(got))
			require.NoError(t, err, "a parsed id must parse again")
			assert.Equal(t, got, again, "parsing is idempotent")
		})
	}
}

func TestConversationIDRoundTrip(t *testing.T) {
	for range 100 {
		a, b := domain.NewUserID(), domain.NewUserID()
		c, err := domain.NewConversationID(a, b)
		require.NoError(t, err)
		parsed, err := domain.ParseConversationID(c.String())
		require.NoError(t, err)
		require.Equal(t, c, parsed)
		x, y := parsed.Members()
		require.ElementsMatch(t, []domain.UserID{a, b}, []domain.UserID{x, y})
		require.Less(t, string(x), string(y), "members come in id order")
	}
}

func TestConversationIDMembersHasPeer(t *testing.T) {
	c, err := domain.NewConversationID(bob, alice)
	require.NoError(t, err)

	first, second := c.Members()
	assert.Equal(t, alice, first)
	assert.Equal(t, bob, second)

	tests := []struct {
		name     string
		user     domain.UserID
		isMember bool
		peer     domain.UserID
	}{
		{"first member", alice, true, bob},
		{"second member", bob, true, alice},
		{"outsider", carol, false, ""},
		{"empty id", "", false, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.isMember, c.Has(tc.user))
			peer, err := c.Peer(tc.user)
			if !tc.isMember {
				requireKind(t, err, domain.KindForbidden)
				assert.Empty(t, peer)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.peer, peer)
		})
	}
}

func TestConversationIDComparesCanonicalIDs(t *testing.T) {
	dave := domain.UserID("dddddddd-dddd-4ddd-addd-dddddddddddd")
	c, err := domain.NewConversationID(alice, dave)
	require.NoError(t, err)
	upper := domain.UserID(strings.ToUpper(string(dave)))
	assert.False(t, c.Has(upper), "membership compares canonical ids; parse ids first")
	_, err = c.Peer(upper)
	requireKind(t, err, domain.KindForbidden)
}

func TestConversationIDZeroValue(t *testing.T) {
	var c domain.ConversationID
	a, b := c.Members()
	assert.Empty(t, a)
	assert.Empty(t, b)
	assert.False(t, c.Has(""), "the empty id is nobody")
	assert.False(t, c.Has(alice))
	_, err := c.Peer(alice)
	requireKind(t, err, domain.KindForbidden)
}
