package domain_test

// Edge cases of validation: what PostgreSQL cannot store, and what the
// derived values must agree on.

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/domain"
)

// NewMessage must check the user ids it is given: it returns messages that its
// own Validate rejects (and conversation ids such as "_<uuid>") when the sender
// or the receiver is not a UUID. A consumer that validates what it reads from
// the log would then dead-letter a message the API answered 202.
func TestNewMessageRejectsInvalidUserIDs(t *testing.T) {
	tests := []struct {
		name             string
		sender, receiver domain.UserID
	}{
		{"empty sender", "", alice},
		{"empty receiver", bob, ""},
		{"sender not a uuid", "bob", alice},
		{"receiver not a uuid", bob, "alice"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := validDraft()
			d.SenderID, d.ReceiverID = tc.sender, tc.receiver
			m, err := domain.NewMessage(d, sendTime)
			require.Error(t, err, "accepted as conversation %q; Validate says %v", m.ConversationID, m.Validate())
			assert.Equal(t, domain.KindInvalid, domain.KindOf(err))
		})
	}
}

// ValidateMetadata promises metadata that PostgreSQL jsonb can hold (it already
// rejects \u0000 for that reason). jsonb also rejects unpaired UTF-16 surrogate
// escapes and numbers outside the range of numeric, which encoding/json accepts;
// checked against PostgreSQL 15: `select '{"a":"\ud800"}'::jsonb` fails with
// "invalid input syntax for type json", `select '{"a":1e1000000}'::jsonb` with
// "value overflows numeric format". Such a message is answered 202 and can never
// be stored.
func TestValidateMetadataRejectsWhatJSONBCannotStore(t *testing.T) {
	tests := []struct{ name, in string }{
		{"lone high surrogate", `{"a":"\ud800"}`},
		{"lone low surrogate", `{"a":"\udc00"}`},
		{"surrogates in the wrong order", `{"a":"\udc00\ud800"}`},
		{"lone surrogate in a key", `{"\udbff":1}`},
		{"number above numeric range", `{"a":1e1000000}`},
		{"number below numeric range", `{"a":1e-1000000}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := domain.ValidateMetadata(json.RawMessage(tc.in))
			require.Error(t, err, "accepted as %s", got)
			assert.Equal(t, domain.KindInvalid, domain.KindOf(err))
		})
	}
}

// Peer's contract: it fails with KindForbidden when u is not a member, and Has
// defines membership. For a value that is not a well-formed conversation id,
// Peer("") succeeds although Has("") is false, because Members returns an
// empty id there and Peer, unlike Has, does not exclude the empty id.
func TestConversationIDPeerAgreesWithHas(t *testing.T) {
	valid, err := domain.NewConversationID(alice, bob)
	require.NoError(t, err)
	tests := []struct {
		name string
		c    domain.ConversationID
		u    domain.UserID
	}{
		{"valid id, member", valid, alice},
		{"valid id, outsider", valid, carol},
		{"valid id, empty user", valid, ""},
		{"zero id, empty user", "", ""},
		{"zero id, user", "", alice},
		{"id without separator, empty user", "garbage", ""},
		{"id with empty right side, empty user", domain.ConversationID(string(alice) + "_"), ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			peer, err := tc.c.Peer(tc.u)
			if tc.c.Has(tc.u) {
				require.NoError(t, err)
				assert.NotEmpty(t, peer)
				return
			}
			require.Error(t, err, "Peer(%q) of %q returned %q although Has is false", tc.u, tc.c, peer)
			assert.Equal(t, domain.KindForbidden, domain.KindOf(err))
		})
	}
}

// NormalizeEmail must reject invalid UTF-8 like every other text field. It
// lower-cases before it validates, and strings.ToLower replaces each invalid
// byte with U+FFFD, so distinct invalid inputs are accepted and collapse into
// the same stored address.
func TestNormalizeEmailRejectsInvalidUTF8(t *testing.T) {
	tests := []struct{ name, in string }{
		{"invalid byte in local part", "bob\xff@example.com"},
		{"another invalid byte, same position", "bob\xfe@example.com"},
		{"invalid byte with upper case", "BOB\xff@example.com"},
		{"truncated sequence in domain", "bob@ex\xc3ample.com"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := domain.NormalizeEmail(tc.in)
			require.Error(t, err, "input %q was accepted as %q", tc.in, got)
			assert.Equal(t, domain.KindInvalid, domain.KindOf(err))
		})
	}
}
