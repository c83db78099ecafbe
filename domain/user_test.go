package domain_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/domain"
)

func TestNormalizeEmail(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string // "" means rejected
		kind domain.Kind
	}{
		{"plain", "bob@example.com", "bob@example.com", 0},
		{"lower-cased", "Bob@Example.COM", "bob@example.com", 0},
		{"trimmed", "  bob@example.com\t\n", "bob@example.com", 0},
		{"plus tag", "bob+chat@example.com", "bob+chat@example.com", 0},
		{"dotted local part", "bob.smith@mail.example.co.uk", "bob.smith@mail.example.co.uk", 0},
		{"empty", "", "", domain.KindInvalid},
		{"blank", "   ", "", domain.KindInvalid},
		{"no at sign", "bob.example.com", "", domain.KindInvalid},
		{"no local part", "@example.com", "", domain.KindInvalid},
		{"no domain", "bob@", "", domain.KindInvalid},
		{"domain without a dot", "bob@localhost", "", domain.KindInvalid},
		{"two at signs", "bob@@example.com", "", domain.KindInvalid},
		{"display name", "Bob <bob@example.com>", "", domain.KindInvalid},
		{"quoted display name", `"Bob Smith" <bob@example.com>`, "", domain.KindInvalid},
		{"angle brackets only", "<bob@example.com>", "", domain.KindInvalid},
		{"trailing comment", "bob@example.com (Bob)", "", domain.KindInvalid},
		{"two addresses", "bob@example.com, eve@example.com", "", domain.KindInvalid},
		{"space inside", "bob smith@example.com", "", domain.KindInvalid},
		{"NUL", "bob\x00@example.com", "", domain.KindInvalid},
		{"newline inside", "bob@exa\nmple.com", "", domain.KindInvalid},
		{"too long", strings.Repeat("a", domain.MaxEmailBytes) + "@example.com", "", domain.KindTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := domain.NormalizeEmail(tc.in)
			if tc.want == "" {
				requireKind(t, err, tc.kind)
				assert.Empty(t, got)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
			again, err := domain.NormalizeEmail(got)
			require.NoError(t, err)
			assert.Equal(t, got, again, "normalising is idempotent")
		})
	}
}

func TestValidatePassword(t *testing.T) {
	tests := []struct {
		name string
		in   string
		kind domain.Kind // KindInternal means valid
	}{
		{"at the minimum", strings.Repeat("p", domain.MinPasswordBytes), domain.KindInternal},
		{"at the maximum", strings.Repeat("p", domain.MaxPasswordBytes), domain.KindInternal},
		{"spaces count", "        ", domain.KindInternal},
		{"unicode counts bytes", "éééé", domain.KindInternal},
		{"empty", "", domain.KindInvalid},
		{"one below the minimum", strings.Repeat("p", domain.MinPasswordBytes-1), domain.KindInvalid},
		{"one above the maximum", strings.Repeat("p", domain.MaxPasswordBytes+1), domain.KindTooLarge},
		{"NUL", "password\x00", domain.KindInvalid},
		{"invalid UTF-8", "password\xff", domain.KindInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := domain.ValidatePassword(tc.in)
			if tc.kind == domain.KindInternal {
				require.NoError(t, err)
				return
			}
			requireKind(t, err, tc.kind)
			if tc.in != "" {
				assert.NotContains(t, domain.MessageOf(err), tc.in, "the password is never echoed")
			}
		})
	}
}

func TestRegistrationValidate(t *testing.T) {
	valid := domain.Registration{FirstName: "Ada", LastName: "Lovelace", Email: "ada@example.com", Password: "correct horse"}
	tests := []struct {
		name   string
		modify func(*domain.Registration)
		want   domain.Registration // compared when kind is KindInternal
		kind   domain.Kind         // KindInternal means valid
	}{
		{"valid", func(*domain.Registration) {}, valid, domain.KindInternal},
		{"names and email are normalised, password is not", func(r *domain.Registration) {
			r.FirstName, r.LastName, r.Email, r.Password = "  Ada ", "\tLovelace\n", " ADA@Example.com ", " secret pw "
		}, domain.Registration{FirstName: "Ada", LastName: "Lovelace", Email: "ada@example.com", Password: " secret pw "}, domain.KindInternal},
		{"unicode names", func(r *domain.Registration) { r.FirstName, r.LastName = "Zoë", "Ødegård" },
			domain.Registration{FirstName: "Zoë", LastName: "Ødegård", Email: "ada@example.com", Password: "correct horse"}, domain.KindInternal},
		{"name at the limit", func(r *domain.Registration) { r.FirstName = strings.Repeat("n", domain.MaxNameBytes) },
			domain.Registration{FirstName: strings.Repeat("n", domain.MaxNameBytes), LastName: "Lovelace", Email: "ada@example.com", Password: "correct horse"}, domain.KindInternal},
		{"missing first name", func(r *domain.Registration) { r.FirstName = "" }, domain.Registration{}, domain.KindInvalid},
		{"blank first name", func(r *domain.Registration) { r.FirstName = " \t" }, domain.Registration{}, domain.KindInvalid},
		{"missing last name", func(r *domain.Registration) { r.LastName = "" }, domain.Registration{}, domain.KindInvalid},
		{"first name too long", func(r *domain.Registration) { r.FirstName = strings.Repeat("n", domain.MaxNameBytes+1) }, domain.Registration{}, domain.KindTooLarge},
		{"last name too long", func(r *domain.Registration) { r.LastName = strings.Repeat("n", domain.MaxNameBytes+1) }, domain.Registration{}, domain.KindTooLarge},
		{"name with NUL", func(r *domain.Registration) { r.FirstName = "A\x00da" }, domain.Registration{}, domain.KindInvalid},
		{"name with invalid UTF-8", func(r *domain.Registration) { r.LastName = "\xff" }, domain.Registration{}, domain.KindInvalid},
		{"bad email", func(r *domain.Registration) { r.Email = "ada" }, domain.Registration{}, domain.KindInvalid},
		{"email with display name", func(r *domain.Registration) { r.Email = "Ada <ada@example.com>" }, domain.Registration{}, domain.KindInvalid},
		{"short password", func(r *domain.Registration) { r.Password = "short" }, domain.Registration{}, domain.KindInvalid},
		{"long password", func(r *domain.Registration) { r.Password = strings.Repeat("p", domain.MaxPasswordBytes+1) }, domain.Registration{}, domain.KindTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := valid
			tc.modify(&r)
			got, err := r.Validate()
			if tc.kind != domain.KindInternal {
				requireKind(t, err, tc.kind)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestUserJSON(t *testing.T) {
	u := domain.User{
		ID: alice, FirstName: "Ada", LastName: "Lovelace", Email: "ada@example.com",
		PasswordHash: "$argon2id$secret", CreatedAt: time.Now(),
	}
	raw, err := json.Marshal(u)
	require.NoError(t, err)
	assert.JSONEq(t, `{"id":"`+string(alice)+`","firstName":"Ada","lastName":"Lovelace","email":"ada@example.com"}`, string(raw))
	assert.NotContains(t, string(raw), "argon2id", "the password hash never leaves the server")
}
