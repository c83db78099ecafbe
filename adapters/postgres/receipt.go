package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
)

var _ ports.ReceiptStore = (*Store)(nil)

// MarkRead implements ports.ReceiptStore.
func (s *Store) MarkRead(ctx context.Context, conv domain.ConversationID, reader domain.UserID, upTo domain.Sequence, at time.Time) (domain.Sequence, bool, error) {
	return s.advance(ctx, readWatermark, conv, reader, upTo, at)
}

// MarkDelivered implements ports.ReceiptStore.
func (s *Store) MarkDelivered(ctx context.Context, conv domain.ConversationID, receiver domain.UserID, upTo domain.Sequence, at time.Time) (domain.Sequence, bool, error) {
	return s.advance(ctx, deliveredWatermark, conv, receiver, upTo, at)
}

// watermark names the statements of one kind of watermark.
type watermark struct {
	what   string
	lock   string // $1 conversation, $2 member: the watermark and the conversation's last sequence
	stamp  string // $1, $2, $3 old watermark, $4 new watermark, $5 time: stamp the rows
	update string // $1, $2, $3 new watermark, $4 time: move the watermark
}

// lockWatermarkSQL locks a member's row and reads its watermark in column
// and the conversation's last sequence.
func lockWatermarkSQL(column string) string {
	return `SELECT m.` + column + `, c.last_sequence
		FROM conversation_members m JOIN conversations c ON c.id = m.conversation_id
		WHERE m.conversation_id = $1 AND m.user_id = $2
		FOR NO KEY UPDATE OF m`
}

var (
	readWatermark = watermark{
		what: "mark read",
		lock: lockWatermarkSQL("read_sequence"),
		stamp: `UPDATE chats SET read_at = $5, delivered_at = COALESCE(delivered_at, $5), seen = true, version = version + 1
			WHERE conversation_id = $1 AND receiver_id = $2 AND sequence_id > $3 AND sequence_id <= $4 AND read_at IS NULL`,
		// The count runs after the member row is locked, so it sees every
		// append that incremented unread_count before; appends that come later
		// wait for this row and add their own messages on top. Tombstones are
		// never unread.
		update: `UPDATE conversation_members SET read_sequence = $3, read_at = $4,
				delivered_sequence = GREATEST(delivered_sequence, $3),
				unread_count = (SELECT count(*) FROM chats
					WHERE conversation_id = $1 AND receiver_id = $2 AND sequence_id > $3 AND deleted_at IS NULL)
			WHERE conversation_id = $1 AND user_id = $2`,
	}
	deliveredWatermark = watermark{
		what: "mark delivered",
		lock: lockWatermarkSQL("delivered_sequence"),
		stamp: `UPDATE chats SET delivered_at = $5, version = version + 1
			WHERE conversation_id = $1 AND receiver_id = $2 AND sequence_id > $3 AND sequence_id <= $4 AND delivered_at IS NULL`,
		update: `UPDATE conversation_members SET delivered_sequence = $3, delivered_at = $4
			WHERE conversation_id = $1 AND user_id = $2`,
	}
)

// advance moves member's watermark w of conv up to upTo, clamped to the
// conversation's last sequence, and stamps the rows it passes.
func (s *Store) advance(ctx context.Context, w watermark, conv domain.ConversationID, member domain.UserID, upTo domain.Sequence, at time.Time) (domain.Sequence, bool, error) {
	if err := validateConversation(conv); err != nil {
		return 0, false, err
	}
	if !conv.Has(member) {
		return 0, false, domain.Errorf(domain.KindForbidden, "not a participant of this conversation")
	}
	if upTo < 0 {
		return 0, false, domain.Errorf(domain.KindInvalid, "sequence must not be negative")
	}
	var (
		mark     domain.Sequence
		advanced bool
	)
	err := s.inTx(ctx, w.what, pgx.TxOptions{}, func(tx pgx.Tx) error {
		var cur, last int64
		err := tx.QueryRow(ctx, w.lock, string(conv), string(member)).Scan(&cur, &last)
		if errors.Is(err, pgx.ErrNoRows) {
			mark, advanced = 0, false // no message yet: nothing to mark
			return nil
		}
		if err != nil {
			return err
		}
		target := min(int64(upTo), last)
		if target <= cur {
			mark, advanced = domain.Sequence(cur), false
			return nil
		}
		if _, err := tx.Exec(ctx, w.stamp, string(conv), string(member), cur, target, at); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, w.update, string(conv), string(member), target, at)
		if err != nil {
			return err
		}
		if tag.RowsAffected() != 1 {
			return errf("%s: watermark row vanished", w.what)
		}
		mark, advanced = domain.Sequence(target), true
		return nil
	})
	if err != nil {
		return 0, false, err
	}
	return mark, advanced, nil
}
