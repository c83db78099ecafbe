package domain

import (
	"net/mail"
	"strings"
	"time"
)

// Limits on account fields.
const (
	MaxNameBytes     = 100
	MaxEmailBytes    = 254
	MinPasswordBytes = 8
	MaxPasswordBytes = 256
)

// User is an account. PasswordHash never leaves the server; the JSON form is the
// wire contract's `user`.
type User struct {
	ID           UserID    `json:"id"`
	FirstName    string    `json:"firstName"`
	LastName     string    `json:"lastName"`
	Email        string    `json:"email"`
	PasswordHash string    `json:"-"`
	CreatedAt    time.Time `json:"-"`
	// TokensValidAfter refuses the access tokens issued before it (a
	// password change, a log out everywhere); zero refuses none.
	TokensValidAfter time.Time `json:"-"`
	// LastSeenAt is when the user's last socket closed; nil when never.
	LastSeenAt *time.Time `json:"-"`
}

// Registration is what a new user submits.
type Registration struct {
	FirstName string
	LastName  string
	Email     string
	Password  string
}

// Validate checks the registration and returns it normalised (trimmed names,
// lower-case email).
func (r Registration) Validate() (Registration, error) {
	r.FirstName = strings.TrimSpace(r.FirstName)
	r.LastName = strings.TrimSpace(r.LastName)
	for _, f := range []struct{ name, v string }{{"firstName", r.FirstName}, {"lastName", r.LastName}} {
		if f.v == "" {
			return r, Errorf(KindInvalid, "%s is required", f.name)
		}
		if err := ValidateString(f.name, f.v, MaxNameBytes); err != nil {
			return r, err
		}
	}
	email, err := NormalizeEmail(r.Email)
	if err != nil {
		return r, err
	}
	r.Email = email
	if err := ValidatePassword(r.Password); err != nil {
		return r, err
	}
	return r, nil
}

// NormalizeEmail checks that s is a plain address (no display name) and returns
// it trimmed and lower-cased, the form in which emails are stored and compared.
func NormalizeEmail(s string) (string, error) {
	s = strings.TrimSpace(s)
	if err := ValidateString("email", s, MaxEmailBytes); err != nil {
		return "", err
	}
	s = strings.ToLower(s)
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" || !strings.Contains(s[strings.LastIndexByte(s, '@')+1:], ".") {
		return "", Errorf(KindInvalid, "invalid email address")
	}
	return s, nil
}

// ValidatePassword enforces length bounds; the upper bound caps hashing cost.
func ValidatePassword(p string) error {
	if len(p) < MinPasswordBytes {
		return Errorf(KindInvalid, "password must be at least %d bytes", MinPasswordBytes)
	}
	if err := ValidateString("password", p, MaxPasswordBytes); err != nil {
		return err
	}
	return nil
}
