package app

import (
	"context"
	"errors"
	"net/netip"

	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
)

var errBadCredentials = domain.Errorf(domain.KindUnauthenticated, "invalid email or password")

// Login checks credentials and opens a session. An unknown email and a wrong
// password look the same to the caller, in answer and in time. Failed
// attempts are counted against the account and the client's address, and
// either one that must wait is refused before any password is hashed.
func (a *App) Login(ctx context.Context, email, password string, from netip.Addr) (ports.Session, error) {
	email, err := domain.NormalizeEmail(email)
	if err != nil || len(password) > domain.MaxPasswordBytes {
		return ports.Session{}, errBadCredentials
	}
	account := strike{key: "login:account:" + email, policy: a.cfg.Guards.LoginAccount}
	strikes := []strike{account}
	if from.IsValid() {
		strikes = append(strikes, strike{key: "login:address:" + addressKey(from), policy: a.cfg.Guards.LoginAddress})
	}
	if err := a.throttled(ctx, "too many failed logins", strikes...); err != nil {
		return ports.Session{}, err
	}
	u, err := a.cfg.Users.UserByEmail(ctx, email)
	switch {
	case errors.Is(err, domain.ErrNotFound):
		u.PasswordHash, err = a.dummyHash()
		if err != nil {
			return ports.Session{}, err
		}
	case err != nil:
		return ports.Session{}, err
	}
	if err := a.cfg.Passwords.VerifyPassword(u.PasswordHash, password); err != nil || u.ID == "" {
		if err == nil || domain.KindOf(err) == domain.KindUnauthenticated {
			a.record(ctx, strikes...)
			return ports.Session{}, errBadCredentials
		}
		return ports.Session{}, err
	}
	a.forgive(ctx, account)
	return a.newSession(ctx, u)
}

// dummyHash is a hash with the configured cost, checked for unknown emails so
// that they take as long as wrong passwords. It is made once, by the first
// call that gets a hashing slot.
func (a *App) dummyHash() (string, error) {
	a.dummy.mu.Lock()
	defer a.dummy.mu.Unlock()
	if a.dummy.hash == "" {
		h, err := a.cfg.Passwords.HashPassword("not a password of anyone")
		if err != nil {
			return "", err
		}
		a.dummy.hash = h
	}
	return a.dummy.hash, nil
}
