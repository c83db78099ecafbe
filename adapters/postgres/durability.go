package postgres

import (
	"context"
	"fmt"
)

// Durability is what the database says of its crash safety, as this store's
// connections see it: the server's settings, and for synchronous_commit also
// whatever the role, the database or the connection string set on top.
type Durability struct {
	Fsync             string // fsync: "on" or "off"
	SynchronousCommit string // synchronous_commit: "on", "local", "remote_write", "remote_apply" or "off"
	FullPageWrites    string // full_page_writes: "on" or "off"
}

// Unsafe lists the settings under which a commit that was answered can be
// lost by a crash of the database server or its machine. The message flow
// stores a partition's offset once the batch's commit returned, so such a
// loss is never redelivered: messages answered 202 vanish, and the next ones
// take their sequence numbers.
func (d Durability) Unsafe() []string {
	var out []string
	if d.Fsync != "on" {
		out = append(out, "fsync="+d.Fsync)
	}
	if d.SynchronousCommit == "off" {
		out = append(out, "synchronous_commit="+d.SynchronousCommit)
	}
	return out
}

// Risky lists the settings under which a crash can leave torn pages that
// recovery cannot repair, unless the file system rules them out (ZFS).
func (d Durability) Risky() []string {
	if d.FullPageWrites != "on" {
		return []string{"full_page_writes=" + d.FullPageWrites}
	}
	return nil
}

// Durability reads the settings on one of the pool's connections.
// Errors: KindUnavailable.
func (s *Store) Durability(ctx context.Context) (Durability, error) {
	var d Durability
	err := s.pool.QueryRow(ctx, `SELECT current_setting('fsync'), current_setting('synchronous_commit'),
		current_setting('full_page_writes')`).Scan(&d.Fsync, &d.SynchronousCommit, &d.FullPageWrites)
	if err != nil {
		return Durability{}, translate(err, "postgres: read durability settings")
	}
	return d, nil
}

// String is the settings as one line, for logs.
func (d Durability) String() string {
	return fmt.Sprintf("fsync=%s synchronous_commit=%s full_page_writes=%s", d.Fsync, d.SynchronousCommit, d.FullPageWrites)
}
