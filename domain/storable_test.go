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

// NewMessage checks the user ids it is given. Otherwise it would return messages
// that its own Validate rejects (and conversation ids such as "_<uuid>"), which a
// consumer validating what it reads from the log dead-letters after the API
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
			require.Error(t, err, "accepted as conversation %q; Validate says %v", m.ConversationID, m.Validate())
			assert.Equal(t, domain.KindInvalid, domain.KindOf(err))
		})
	}
}

// ValidateMetadata promises metadata that PostgreSQL jsonb can hold. Besides
// \u0000, jsonb rejects unpaired UTF-16 surrogate escapes and numbers outside the
// range of numeric, which encoding/json accepts; checked against PostgreSQL 15:
// `select '{"a":"\ud800"}'::jsonb` fails with "invalid input syntax for type
// json", `select '{"a":1e1000000}'::jsonb` with "value overflows numeric format".
// Such a message would be answered 202 and could never be stored.
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

// The numbers of metadata must be exactly those PostgreSQL's numeric accepts:
// at most 131072 digits before the decimal point, a display scale (digits after
// the point, trailing zeros included, minus the exponent) of at most 16383 even
// for zero, and an exponent below 2^30-1 in magnitude even for zero. Each want
// is what `select '{"a":<number>}'::jsonb` did on PostgreSQL 15.18.
func TestValidateMetadataNumbersMatchPostgreSQL(t *testing.T) {
	tests := []struct {
		num    string
		stored bool
	}{
		{"0", true},
		{"-0.0", true},
		{"1E5", true},
		{"1e131071", true},
		{"1e131072", false},
		{"10e131070", true},
		{"10e131071", false},
		{"12345678901234567890e131052", true},
		{"12345678901234567890e131053", false},
		{"0.001e131074", true},
		{"0.001e131075", false},
		{"1e-16383", true},
		{"-1e-16383", true},
		{"1e-16384", false},
		{"1.5e-16383", false},
		{"0.1e-16382", true},
		{"0.1e-16383", false},
		{"1.000e-16380", true},
		{"1.0000e-16380", false},
		{"100e-16385", false},
		{"1e+0000000001", true},
		{"1e-0000000001", true},
		{"1e00000000000000000000001", true},
		{"1e-000016383", true},
		{"1e-000016384", false},
		{"0e0", true},
		{"0e-16383", true},
		{"0e-16384", false},
		{"-0e-16384", false},
		{"0.0e-16383", false},
		{"0.0e-16384", false},
		{"0e-99999999", false},
		{"0e99999999", true},
		{"0e1073741822", true},
		{"0e1073741823", false},
		{"0e-1073741823", false},
		{"0e2000000000", false},
		{"0e-2000000000", false},
	}
	for _, tc := range tests {
		t.Run(tc.num, func(t *testing.T) {
			got, err := domain.ValidateMetadata(json.RawMessage(`{"a":` + tc.num + `}`))
			if tc.stored {
				require.NoError(t, err, "PostgreSQL stores %s", tc.num)
				assert.Equal(t, `{"a":`+tc.num+`}`, string(got))
				return
			}
			require.Error(t, err, "PostgreSQL refuses %s, yet it was accepted", tc.num)
			assert.Equal(t, domain.KindInvalid, domain.KindOf(err))
		})
	}
}
