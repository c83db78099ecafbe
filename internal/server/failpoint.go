//go:build !chaos

package server

import (
	"log/slog"

	messenger "github.com/messenger-go/messenger"
)

// withFailpoints returns s: failpoints exist only in the chaos build
// (go build -tags chaos).
func withFailpoints(s messenger.Store, _ *slog.Logger) messenger.Store { return s }
