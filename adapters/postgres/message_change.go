package postgres

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
)

// MessageByID implements ports.MessageStore.
func (s *Store) MessageByID(ctx context.Context, id domain.MessageID) (domain.Message, error) {
	if uuid.Validate(string(id)) != nil {
		return domain.Message{}, domain.Errorf(domain.KindInvalid, "message id is not a UUID")
	}
	m, err := scanMessage(s.pool.QueryRow(ctx, `SELECT `+messageColumns+` FROM chats ch WHERE ch.message_id = $1`, string(id)))
	return m, translate(err, "message")
}

// SQL of ApplyChanges.
const (
	lockChangedConversationsSQL = `SELECT id FROM conversations WHERE id = ANY($1::text[]) ORDER BY id FOR NO KEY UPDATE`
	lockChangedMessageSQL       = `SELECT ` + messageColumns + `, ch.change_partition, ch.change_offset
		FROM chats ch WHERE ch.message_id = $1 FOR UPDATE`
	storeChangeSQL = `UPDATE chats SET message = $2, metadata = NULLIF($3, '')::jsonb, edited_at = $4, deleted_at = $5,
			deleted_by = $6, edit_version = $7, change_partition = $8, change_offset = $9
		WHERE message_id = $1`
	// A tombstone is not unread: the receiver's count drops when the
	// deletion is above the receiver's read watermark.
	uncountDeletedSQL = `UPDATE conversation_members SET unread_count = unread_count - 1
		WHERE conversation_id = $1 AND user_id = $2 AND read_sequence < $3 AND unread_count > 0`
)

// ApplyChanges implements ports.MessageStore in one transaction. It locks
// the changes' conversations in id order, as appends do (so a change and an
// append of one conversation are serialised, and the unread counts stay
// exact), then each changed row, in order.
func (s *Store) ApplyChanges(ctx context.Context, changes []ports.Change) ([]ports.Changed, error) {
	if len(changes) == 0 {
		return []ports.Changed{}, nil
	}
	var convs []string
	for _, ch := range changes {
		if c := string(ch.Change.ConversationID); !slices.Contains(convs, c) {
			convs = append(convs, c)
		}
	}
	slices.Sort(convs)
	var out []ports.Changed
	err := s.inTx(ctx, "apply message changes", pgx.TxOptions{}, func(tx pgx.Tx) error {
		out = make([]ports.Changed, len(changes))
		if _, err := tx.Exec(ctx, lockChangedConversationsSQL, convs); err != nil {
			return err
		}
		for i, ch := range changes {
			res, err := applyChange(ctx, tx, ch)
			if err != nil {
				return err
			}
			out[i] = res
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// applyChange applies one change in tx. A refusal is its result; the error
// is the database's.
func applyChange(ctx context.Context, tx pgx.Tx, ch ports.Change) (ports.Changed, error) {
	id := string(ch.Change.MessageID)
	if uuid.Validate(id) != nil {
		return ports.Changed{Err: domain.Errorf(domain.KindInvalid, "message id is not a UUID")}, nil
	}
	var (
		f         messageFields
		partition *int32
		offset    *int64
	)
	err := tx.QueryRow(ctx, lockChangedMessageSQL, id).Scan(append(f.dest(), &partition, &offset)...)
	if errors.Is(err, pgx.ErrNoRows) {
		return ports.Changed{Err: domain.Errorf(domain.KindNotFound, "message not found")}, nil
	}
	if err != nil {
		return ports.Changed{}, err
	}
	cur := f.message()
	if partition != nil && offset != nil && *partition == ch.Position.Partition && ch.Position.Offset <= *offset {
		return ports.Changed{Message: cur}, nil // the log delivered it again
	}
	next, changed, err := cur.Apply(ch.Change)
	if err != nil || !changed {
		return ports.Changed{Message: cur, Err: err}, nil
	}
	if err := checkJSONB(next.Metadata); err != nil {
		return ports.Changed{Err: domain.Wrap(domain.KindInvalid, err, domain.MessageOf(err))}, nil
	}
	next.EditedAt, next.DeletedAt = truncated(next.EditedAt), truncated(next.DeletedAt)
	var deletedBy any
	if next.DeletedBy != "" {
		deletedBy = string(next.DeletedBy)
	}
	if _, err := tx.Exec(ctx, storeChangeSQL, id, next.Text, string(next.Metadata), next.EditedAt, next.DeletedAt,
		deletedBy, next.Version, ch.Position.Partition, ch.Position.Offset); err != nil {
		return ports.Changed{}, err
	}
	if next.DeletedAt != nil && cur.DeletedAt == nil {
		if _, err := tx.Exec(ctx, uncountDeletedSQL, string(next.ConversationID), string(next.ReceiverID), int64(next.Sequence)); err != nil {
			return ports.Changed{}, err
		}
	}
	return ports.Changed{Message: next, Applied: true}, nil
}

// truncated is t as timestamptz keeps it: microseconds, UTC.
func truncated(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.Truncate(time.Microsecond).UTC()
	return &u
}

// ChangedSince implements ports.MessageStore. The changed messages of a
// conversation are found through a partial index that holds them alone.
func (s *Store) ChangedSince(ctx context.Context, conv domain.ConversationID, upTo domain.Sequence, limit int) ([]domain.Message, error) {
	if err := validateConversation(conv); err != nil {
		return nil, err
	}
	if upTo < 1 || limit <= 0 {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT `+messageColumns+` FROM chats ch
		JOIN chats base ON base.conversation_id = ch.conversation_id AND base.sequence_id = $2
		WHERE ch.conversation_id = $1 AND ch.sequence_id <= $2 AND ch.change_offset IS NOT NULL
		  AND (ch.change_partition IS DISTINCT FROM base.kafka_partition::int OR ch.change_offset > base.kafka_offset)
		ORDER BY ch.sequence_id DESC LIMIT $3`, string(conv), int64(upTo), limit)
	if err != nil {
		return nil, translate(err, "changed messages")
	}
	msgs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (domain.Message, error) { return scanMessage(r) })
	if err != nil {
		return nil, translate(err, "changed messages")
	}
	slices.Reverse(msgs)
	return msgs, nil
}
