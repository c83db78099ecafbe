package domain_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/domain"
)

func TestPageNormalize(t *testing.T) {
	tests := []struct {
		name string
		in   domain.Page
		want domain.Page // compared when valid
		ok   bool
	}{
		{"zero page gets the default limit", domain.Page{}, domain.Page{Limit: domain.DefaultPageLimit}, true},
		{"explicit limit is kept", domain.Page{Limit: 10}, domain.Page{Limit: 10}, true},
		{"limit of one", domain.Page{Limit: 1}, domain.Page{Limit: 1}, true},
		{"maximum limit", domain.Page{Limit: domain.MaxPageLimit}, domain.Page{Limit: domain.MaxPageLimit}, true},
		{"before only", domain.Page{Before: 10}, domain.Page{Before: 10, Limit: domain.DefaultPageLimit}, true},
		{"before one", domain.Page{Before: 1, Limit: 5}, domain.Page{Before: 1, Limit: 5}, true},
		{"after only", domain.Page{After: 10, Limit: 5}, domain.PageAfter(10, 5), true},
		{"after zero is a cursor", domain.PageAfter(0, 5), domain.Page{HasAfter: true, Limit: 5}, true},
		{"after zero and before", domain.Page{HasAfter: true, Before: 4}, domain.Page{HasAfter: true, Before: 4, Limit: domain.DefaultPageLimit}, true},
		{"range", domain.Page{After: 3, Before: 9}, domain.Page{After: 3, HasAfter: true, Before: 9, Limit: domain.DefaultPageLimit}, true},
		{"narrowest range", domain.Page{After: 3, Before: 4}, domain.Page{After: 3, HasAfter: true, Before: 4, Limit: domain.DefaultPageLimit}, true},
		{"limit above the maximum", domain.Page{Limit: domain.MaxPageLimit + 1}, domain.Page{}, false},
		{"negative limit", domain.Page{Limit: -1}, domain.Page{}, false},
		{"negative before", domain.Page{Before: -1}, domain.Page{}, false},
		{"negative after", domain.Page{After: -5}, domain.Page{}, false},
		{"before equals after", domain.Page{After: 5, Before: 5}, domain.Page{}, false},
		{"before below after", domain.Page{After: 6, Before: 5}, domain.Page{}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.in.Normalize()
			if !tc.ok {
				requireKind(t, err, domain.KindInvalid)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
			again, err := got.Normalize()
			require.NoError(t, err)
			assert.Equal(t, got, again, "normalising is idempotent")
		})
	}
}

func TestUnreadCountsJSON(t *testing.T) {
	c, err := domain.NewConversationID(alice, bob)
	require.NoError(t, err)
	raw, err := json.Marshal(domain.UnreadCounts{Total: 3, ByConversation: map[domain.ConversationID]int64{c: 3}})
	require.NoError(t, err)
	assert.JSONEq(t, `{"unreadCount":3,"byConversation":{"`+string(c)+`":3}}`, string(raw))
}

func TestConversationSummaryJSON(t *testing.T) {
	m, err := domain.NewMessage(validDraft(), sendTime)
	require.NoError(t, err)
	raw, err := json.Marshal(domain.ConversationSummary{
		ConversationID: m.ConversationID,
		Peer:           domain.User{ID: alice, FirstName: "A", LastName: "L", Email: "a@x.io", PasswordHash: "hash"},
		LastMessage:    m,
		UnreadCount:    2,
	})
	require.NoError(t, err)
	var fields map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(raw, &fields))
	assert.ElementsMatch(t, []string{"conversationId", "peer", "lastMessage", "unreadCount"}, keys(fields))
	assert.JSONEq(t, `{"id":"`+string(alice)+`","firstName":"A","lastName":"L","email":"a@x.io"}`, string(fields["peer"]))
	assert.JSONEq(t, `2`, string(fields["unreadCount"]))
	msg, err := json.Marshal(m)
	require.NoError(t, err)
	assert.JSONEq(t, string(msg), string(fields["lastMessage"]))
}
