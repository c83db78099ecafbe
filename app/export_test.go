package app

import "github.com/messenger-go/messenger/domain"

// ForgetUser drops what a knows about whether user exists.
func ForgetUser(a *App, user domain.UserID) { a.known.Forget(user) }
