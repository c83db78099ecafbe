//go:build chaos

package server

import (
	"context"
	"log/slog"
	"os"
	"strconv"
	"sync/atomic"
	"syscall"

	messenger "github.com/messenger-go/messenger"
	"github.com/messenger-go/messenger/ports"
)

// FailpointKillAfterCommit names the chaos build's failpoint: with it set to
// n, the process kills itself (SIGKILL) right after the n-th batch of new
// messages was committed to the store, before the consumer stores the batch's
// offsets in Kafka. The next owner of the partition gets the batch again.
const FailpointKillAfterCommit = "MESSENGER_FAILPOINT_KILL_AFTER_COMMIT"

// withFailpoints wraps the store when the failpoint is set.
func withFailpoints(s messenger.Store, logger *slog.Logger) messenger.Store {
	n, err := strconv.Atoi(os.Getenv(FailpointKillAfterCommit))
	if err != nil || n <= 0 {
		return s
	}
	logger.Warn("failpoint armed: this process kills itself after a committed batch", "batch", n)
	return &killAfterCommit{Store: s, after: int64(n)}
}

type killAfterCommit struct {
	messenger.Store
	after int64
	seen  atomic.Int64
}

func (k *killAfterCommit) AppendBatch(ctx context.Context, batch []ports.Append) ([]ports.Appended, error) {
	out, err := k.Store.AppendBatch(ctx, batch)
	if err == nil && len(out) > 0 && k.seen.Add(1) == k.after {
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {} // the signal is on its way
	}
	return out, err
}
