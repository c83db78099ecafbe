package app

import (
	"context"
	"errors"

	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
)

var errBadCredentials = domain.Errorf(domain.KindUnauthenticated, "invalid email or password")

// Login checks credentials and opens a session. An unknown email and a wrong
// password look the same to the caller, in answer and in time.
func (a *App) Login(ctx context.Context, email, password string) (ports.Session, error) {
	email, err := domain.NormalizeEmail(email)
	if err != nil || len(password) > domain.MaxPasswordBytes {
		return ports.Session{}, errBadCredentials
	}
	u, err := a.cfg.Users.UserByEmail(ctx, email)
	switch {
	case errors.Is(err, domain.ErrNotFound):
		_ = a.cfg.Passwords.VerifyPassword(a.dummyHash(), password)
		return ports.Session{}, errBadCredentials
	case err != nil:
		return ports.Session{}, err
	}
	if err := a.cfg.Passwords.VerifyPassword(u.PasswordHash, password); err != nil {
		if domain.KindOf(err) == domain.KindUnauthenticated {
			return ports.Session{}, errBadCredentials
		}
		return ports.Session{}, err
	}
	return a.newSession(ctx, u)
}

// dummyHash is a hash with the configured cost, checked for unknown emails so
// that they take as long as wrong passwords.
func (a *App) dummyHash() string {
	a.dummy.once.Do(func() {
		a.dummy.hash, _ = a.cfg.Passwords.HashPassword("not a password of anyone")
	})
	return a.dummy.hash
}
