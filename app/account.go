package app

import (
	"cmp"
	"context"
	"math"
	"slices"
	"time"

	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
)

// Me returns the caller's profile.
func (a *App) Me(ctx context.Context, user domain.UserID) (domain.User, error) {
	return a.cfg.Users.UserByID(ctx, user)
}

// UpdateMe changes the caller's names.
func (a *App) UpdateMe(ctx context.Context, user domain.UserID, p domain.ProfileUpdate) (domain.User, error) {
	return a.cfg.Users.UpdateUser(ctx, user, p.Apply)
}

// ChangePassword checks the current password, stores the new one with the
// cutoff of the user's access tokens, and revokes the user's credentials.
func (a *App) ChangePassword(ctx context.Context, user domain.UserID, current, next string) error {
	if current == "" {
		return domain.Errorf(domain.KindInvalid, "currentPassword is required")
	}
	if err := domain.ValidatePassword(next); err != nil {
		return err
	}
	if _, err := a.checkOwnPassword(ctx, user, current); err != nil {
		return err
	}
	hash, err := a.cfg.Passwords.HashPassword(next)
	if err != nil {
		return err
	}
	cutoff := domain.TokensCutoff(a.now())
	if _, err := a.cfg.Users.UpdateUser(ctx, user, func(u domain.User) (domain.User, error) {
		u.PasswordHash, u.TokensValidAfter = hash, cutoff
		return u, nil
	}); err != nil {
		return err
	}
	return a.revokeCredentials(ctx, user, cutoff, "password changed: log in again")
}

// LogoutAll revokes every credential of the user.
func (a *App) LogoutAll(ctx context.Context, user domain.UserID) error {
	cutoff := domain.TokensCutoff(a.now())
	if _, err := a.cfg.Users.UpdateUser(ctx, user, func(u domain.User) (domain.User, error) {
		u.TokensValidAfter = cutoff
		return u, nil
	}); err != nil {
		return err
	}
	return a.revokeCredentials(ctx, user, cutoff, "logged out everywhere")
}

// DeleteAccount checks the password and erases the account. Its former
// friends hear friendRemoved; its peers' cached unread counts are dropped
// (its messages are no longer unread); every node forgets it, so its tokens
// are refused at once; its sockets close.
func (a *App) DeleteAccount(ctx context.Context, user domain.UserID, password string) error {
	if password == "" {
		return domain.Errorf(domain.KindInvalid, "password is required")
	}
	if _, err := a.checkOwnPassword(ctx, user, password); err != nil {
		return err
	}
	relations, err := a.cfg.Friends.Relations(ctx, user)
	if err != nil {
		return err
	}
	convs, err := a.cfg.Inbox.Conversations(ctx, user, math.MaxInt32)
	if err != nil {
		return err
	}
	if err := a.cfg.Users.DeleteUser(ctx, user, a.now().UTC()); err != nil {
		return err
	}
	a.releaseAttachments(ctx, "", user)
	var friends []domain.UserID
	for _, f := range relations {
		other := f.Other(user)
		a.friends.changedPair(ctx, user, other)
		if f.AreFriends() {
			friends = append(friends, other)
		}
	}
	if len(friends) > 0 {
		a.notify(ctx, friends, domain.Event{Name: domain.EventFriendRemoved, Data: domain.UserIDPayload{UserID: user}})
	}
	peers := make([]domain.UserID, len(convs))
	for i, c := range convs {
		peers[i] = c.Peer.ID
	}
	a.invalidateUnread(ctx, peers...)
	a.forgetAccount(ctx, user, "account deleted")
	return nil
}

// ExportAccount gathers the profile, every relation and every message of
// the user's conversations, by conversation id and sequence.
func (a *App) ExportAccount(ctx context.Context, user domain.UserID) (domain.AccountExport, error) {
	u, err := a.cfg.Users.UserByID(ctx, user)
	if err != nil {
		return domain.AccountExport{}, err
	}
	relations, err := a.cfg.Friends.Relations(ctx, user)
	if err != nil {
		return domain.AccountExport{}, err
	}
	convs, err := a.cfg.Inbox.Conversations(ctx, user, math.MaxInt32)
	if err != nil {
		return domain.AccountExport{}, err
	}
	slices.SortFunc(convs, func(x, y domain.ConversationSummary) int { return cmp.Compare(x.ConversationID, y.ConversationID) })
	out := domain.AccountExport{ExportedAt: a.now().UTC(), User: u, Friendships: relations, Messages: []domain.Message{}}
	for _, c := range convs {
		for after := domain.Sequence(0); ; {
			page, more, err := a.cfg.Messages.History(ctx, c.ConversationID, domain.PageAfter(after, domain.MaxPageLimit))
			if err != nil {
				return domain.AccountExport{}, err
			}
			out.Messages = append(out.Messages, page...)
			if !more || len(page) == 0 {
				break
			}
			after = page[len(page)-1].Sequence
		}
	}
	if out.Friendships == nil {
		out.Friendships = []domain.Friendship{}
	}
	return out, nil
}

// checkOwnPassword checks password against user's own. A wrong one counts
// as a failed login of the account (the same throttle), so that a stolen
// access token does not open a faster way to guess the password.
// Errors: KindForbidden (wrong), KindRateLimited, KindNotFound.
func (a *App) checkOwnPassword(ctx context.Context, user domain.UserID, password string) (domain.User, error) {
	u, err := a.cfg.Users.UserByID(ctx, user)
	if err != nil {
		return domain.User{}, err
	}
	account := strike{key: "login:account:" + u.Email, policy: a.cfg.Guards.LoginAccount}
	if err := a.throttled(ctx, "too many wrong passwords", account); err != nil {
		return domain.User{}, err
	}
	if len(password) > domain.MaxPasswordBytes {
		return domain.User{}, errWrongPassword
	}
	if err := a.cfg.Passwords.VerifyPassword(u.PasswordHash, password); err != nil {
		if domain.KindOf(err) == domain.KindUnauthenticated {
			a.record(ctx, account)
			return domain.User{}, errWrongPassword
		}
		return domain.User{}, err
	}
	a.forgive(ctx, account)
	return u, nil
}

var errWrongPassword = domain.Errorf(domain.KindForbidden, "wrong password")

// revokeCredentials revokes the user's refresh tokens, makes every node
// forget the user (their access tokens issued before cutoff, stored
// already, are refused from then on), closes the user's sockets, and waits
// until cutoff, so that a token issued after the call returns is accepted.
func (a *App) revokeCredentials(ctx context.Context, user domain.UserID, cutoff time.Time, reason string) error {
	if err := a.cfg.RefreshTokens.RevokeUserTokens(ctx, user); err != nil {
		return err
	}
	a.forgetAccount(ctx, user, reason)
	if wait := min(cutoff.Sub(a.now()), time.Second); wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
		}
	}
	return nil
}

// forgetAccount drops what this node and, through Config.AccountChanges,
// every node remembers of the user, then closes the user's sockets with
// reason. A failed announcement is logged: the other nodes see the change
// within Guards.UserCacheTTL.
func (a *App) forgetAccount(ctx context.Context, user domain.UserID, reason string) {
	a.known.Forget(user)
	if a.cfg.AccountChanges != nil {
		if err := a.cfg.AccountChanges.AnnounceAccountChange(context.WithoutCancel(ctx), user); err != nil {
			a.logger.WarnContext(ctx, "account change not announced; other nodes see it within their user cache TTL",
				"ttl", a.cfg.Guards.UserCacheTTL, "err", err)
		}
	}
	a.notify(ctx, []domain.UserID{user}, domain.Event{Name: domain.SignalCloseSessions, Data: domain.SessionsClosed{Reason: reason}})
}

var _ ports.Self = (*App)(nil)
