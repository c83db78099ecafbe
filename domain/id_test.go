package domain_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/domain"
)

var (
	uuidV4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	uuidV5 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
)

// Fixed user ids, in ascending order.
const (
	alice = domain.UserID("11111111-1111-4111-8111-111111111111")
	bob   = domain.UserID("22222222-2222-4222-8222-222222222222")
	carol = domain.UserID("33333333-3333-4333-8333-333333333333")
)

// requireKind fails unless err is a *domain.Error of kind want.
func requireKind(t *testing.T, err error, want domain.Kind) {
	t.Helper()
	require.Error(t, err)
	var de *domain.Error
	require.ErrorAs(t, err, &de, "error %v is not a *domain.Error", err)
	require.Equal(t, want, domain.KindOf(err), "kind of %v", err)
}

// uuidParseCases are shared by ParseUserID and ParseMessageID.
var uuidParseCases = []struct {
	name string
	in   string
	want string // "" means rejected
}{
	{"canonical lower case", "0f8fad5b-d9cb-469f-a165-70867728950e", "0f8fad5b-d9cb-469f-a165-70867728950e"},
	{"upper case is lowered", "0F8FAD5B-D9CB-469F-A165-70867728950E", "0f8fad5b-d9cb-469f-a165-70867728950e"},
	{"mixed case is lowered", "0f8FaD5b-D9cb-469F-a165-70867728950E", "0f8fad5b-d9cb-469f-a165-70867728950e"},
	{"nil uuid is well formed", "00000000-0000-0000-0000-000000000000", "00000000-0000-0000-0000-000000000000"},
	{"any version is accepted", "ffffffff-ffff-ffff-ffff-ffffffffffff", "ffffffff-ffff-ffff-ffff-ffffffffffff"},
	{"empty", "", ""},
	{"one short", "0f8fad5b-d9cb-469f-a165-70867728950", ""},
	{"one long", "0f8fad5b-d9cb-469f-a165-70867728950e0", ""},
	{"no hyphens", "0f8fad5bd9cb469fa16570867728950e", ""},
	{"braced", "{0f8fad5b-d9cb-469f-a165-70867728950e}", ""},
	{"urn form", "urn:uuid:0f8fad5b-d9cb-469f-a165-70867728950e", ""},
	{"non hex letter", "0f8fad5g-d9cb-469f-a165-70867728950e", ""},
	{"hyphen moved", "0f8fad5bd-9cb-469f-a165-70867728950e", ""},
	{"hyphen replaced by underscore", "0f8fad5b_d9cb-469f-a165-70867728950e", ""},
	{"hex digit where a hyphen belongs", "0f8fad5b-d9cb-469f0a165-70867728950e", ""},
	{"leading space", " 0f8fad5b-d9cb-469f-a165-70867728950", ""},
	{"trailing newline", "0f8fad5b-d9cb-469f-a165-70867728950\n", ""},
	{"NUL byte", "0f8fad5b-d9cb-469f-a165-70867728950\x00", ""},
	{"non ASCII", "0f8fad5b-d9cb-469f-a165-7086772895é", ""},
	{"all hyphens", strings.Repeat("-", 36), ""},
}

func TestParseUserID(t *testing.T) {
	for _, tc := range uuidParseCases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := domain.ParseUserID(tc.in)
			if tc.want == "" {
				requireKind(t, err, domain.KindInvalid)
				assert.Empty(t, got)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, domain.UserID(tc.want), got)
			assert.Equal(t, tc.want, got.String())
		})
	}
}

func TestParseMessageID(t *testing.T) {
	for _, tc := range uuidParseCases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := domain.ParseMessageID(tc.in)
			if tc.want == "" {
				requireKind(t, err, domain.KindInvalid)
				assert.Empty(t, got)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, domain.MessageID(tc.want), got)
			assert.Equal(t, tc.want, got.String())
		})
	}
}

func TestParseUserIDClipsEchoedInput(t *testing.T) {
	long := strings.Repeat("x", 10_000)
	_, err := domain.ParseUserID(long)
	requireKind(t, err, domain.KindInvalid)
	assert.Less(t, len(domain.MessageOf(err)), 200, "the error message must not echo the whole input")
}

func TestNewUUID(t *testing.T) {
	const n = 1000
	seen := make(map[string]bool, n)
	for range n {
		u := domain.NewUUID()
		require.Regexp(t, uuidV4, u)
		require.False(t, seen[u], "duplicate uuid %s", u)
		seen[u] = true
		id, err := domain.ParseUserID(u)
		require.NoError(t, err)
		require.Equal(t, u, string(id), "NewUUID must already be canonical")
	}
}

func TestNewUserID(t *testing.T) {
	a, b := domain.NewUserID(), domain.NewUserID()
	assert.Regexp(t, uuidV4, string(a))
	assert.Regexp(t, uuidV4, string(b))
	assert.NotEqual(t, a, b)
	parsed, err := domain.ParseUserID(string(a))
	require.NoError(t, err)
	assert.Equal(t, a, parsed)
}

func TestDeriveMessageID(t *testing.T) {
	base := domain.DeriveMessageID(alice, "c-1")
	tests := []struct {
		name   string
		sender domain.UserID
		cid    string
		same   bool
	}{
		{"same inputs give the same id", alice, "c-1", true},
		{"other sender", bob, "c-1", false},
		{"other client message id", alice, "c-2", false},
		{"empty client message id", alice, "", false},
		{"client message id differs only in case", alice, "C-1", false},
		// The separator keeps (sender, cid) pairs from colliding by concatenation.
		{"sender and cid boundary shifted", alice[:35], string(alice[35:]) + "c-1", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := domain.DeriveMessageID(tc.sender, tc.cid)
			assert.Regexp(t, uuidV5, string(got))
			if tc.same {
				assert.Equal(t, base, got)
			} else {
				assert.NotEqual(t, base, got)
			}
			parsed, err := domain.ParseMessageID(string(got))
			require.NoError(t, err)
			assert.Equal(t, got, parsed, "derived ids are canonical")
		})
	}
}

func TestDeriveMessageIDIsStable(t *testing.T) {
	// Message ids are stored and compared across releases: the derivation must
	// never change. The expected value was recorded once.
	assert.Equal(t, domain.MessageID("6600d80a-55dc-500e-9ea7-e0c8eca50986"), domain.DeriveMessageID(alice, "c-1"))
}

func TestDeriveMessageIDIsRFCVersion5(t *testing.T) {
	// An independent implementation of RFC 9562 name-based SHA-1 UUIDs must agree:
	// namespace "messenger-msg-id", name = sender, NUL, clientMessageId.
	ns := uuid.UUID([]byte("messenger-msg-id"))
	tests := []struct {
		name   string
		sender domain.UserID
		cid    string
	}{
		{"simple", alice, "c-1"},
		{"empty client message id", bob, ""},
		{"unicode client message id", carol, "héllo-✓"},
		{"long client message id", alice, strings.Repeat("k", domain.MaxClientMessageIDBytes)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			want := uuid.NewSHA1(ns, []byte(string(tc.sender)+"\x00"+tc.cid))
			assert.Equal(t, want.String(), string(domain.DeriveMessageID(tc.sender, tc.cid)))
		})
	}
}
