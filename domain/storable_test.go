package domain_test

// Edge cases of validation: what no store could keep, and what the derived
// values must agree on.

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/domain"
)

// NewMessage checks the user ids it is given. Otherwise it would return messages
// that CheckIdentity rejects (and conversation ids such as "_<uuid>"), which the
// consumer checking what it reads from the log dead-letters after the API
// answered 202.
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
			require.Error(t, err, "accepted as conversation %q; CheckIdentity says %v", m.ConversationID, m.CheckIdentity())
			assert.Equal(t, domain.KindInvalid, domain.KindOf(err))
		})
	}
}

// ValidateMetadata refuses what json.Valid lets through but no store could be
// expected to keep, so that the API answers such input with a 400 instead of a
// 202 for a message that would end in the dead-letter topic: a UTF-16
// surrogate escape without its pair is not Unicode text (PostgreSQL's jsonb
// refuses it with "invalid input syntax for type json"), and a number with an
// exponent beyond MaxMetadataExponent is beyond a double, and these beyond
// PostgreSQL's numeric ("value overflows numeric format").
func TestValidateMetadataRejectsWhatNoStoreKeeps(t *testing.T) {
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
// defines membership, also for values that are not well-formed conversation ids
// (where Members returns an empty id, which must not make "" a member).
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

// NormalizeEmail rejects invalid UTF-8 like every other text field. It must
// validate before it lower-cases: strings.ToLower replaces each invalid byte
// with U+FFFD, so distinct invalid inputs would collapse into one address.
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
