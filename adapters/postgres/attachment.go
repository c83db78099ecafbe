package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
)

var _ ports.AttachmentStore = (*Store)(nil)

const attachmentColumns = `id, owner_id, file_name, content_type, size, created_at, expires_at, message_id, conversation_id`

// attachmentArgs are a's values in the order of attachmentColumns.
func attachmentArgs(a domain.Attachment) []any {
	var expires *time.Time
	if !a.ExpiresAt.IsZero() {
		expires = &a.ExpiresAt
	}
	var msg, conv *string
	if a.Sent() {
		m, c := string(a.MessageID), string(a.ConversationID)
		msg, conv = &m, &c
	}
	return []any{string(a.ID), string(a.Owner), a.FileName, a.ContentType, a.Size, a.CreatedAt, expires, msg, conv}
}

func scanAttachment(row pgx.Row) (domain.Attachment, error) {
	var (
		a           domain.Attachment
		id, owner   string
		expires     *time.Time
		msg, conv   *string
		name, ctype string
		size        int64
		created     time.Time
	)
	if err := row.Scan(&id, &owner, &name, &ctype, &size, &created, &expires, &msg, &conv); err != nil {
		return domain.Attachment{}, err
	}
	a = domain.Attachment{ID: domain.AttachmentID(id), Owner: domain.UserID(owner), FileName: name, ContentType: ctype,
		Size: size, CreatedAt: created.UTC()}
	if expires != nil {
		a.ExpiresAt = expires.UTC()
	}
	if msg != nil {
		a.MessageID = domain.MessageID(*msg)
	}
	if conv != nil {
		a.ConversationID = domain.ConversationID(*conv)
	}
	return a, nil
}

// CreateAttachment implements ports.AttachmentStore.
func (s *Store) CreateAttachment(ctx context.Context, a domain.Attachment) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO attachments (`+attachmentColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		attachmentArgs(a)...)
	return translate(err, "create attachment")
}

// Attachment implements ports.AttachmentStore.
func (s *Store) Attachment(ctx context.Context, id domain.AttachmentID) (domain.Attachment, error) {
	a, err := scanAttachment(s.pool.QueryRow(ctx, `SELECT `+attachmentColumns+` FROM attachments WHERE id = $1`, string(id)))
	return a, translate(err, "attachment")
}

// UpdateAttachment implements ports.AttachmentStore under the row's lock.
func (s *Store) UpdateAttachment(ctx context.Context, id domain.AttachmentID, fn func(domain.Attachment) (domain.Attachment, error)) (domain.Attachment, error) {
	var out domain.Attachment
	err := s.inTx(ctx, "update attachment", pgx.TxOptions{}, func(tx pgx.Tx) error {
		cur, err := scanAttachment(tx.QueryRow(ctx, `SELECT `+attachmentColumns+` FROM attachments WHERE id = $1 FOR UPDATE`, string(id)))
		if err != nil {
			return err
		}
		next, err := fn(cur)
		if err != nil {
			return err
		}
		next.ID = id
		args := attachmentArgs(next)
		if _, err := tx.Exec(ctx, `UPDATE attachments SET owner_id = $2, file_name = $3, content_type = $4, size = $5,
			created_at = $6, expires_at = $7, message_id = $8, conversation_id = $9 WHERE id = $1`, args...); err != nil {
			return err
		}
		out = next
		return nil
	})
	return out, err
}

// ReleaseAttachments implements ports.AttachmentStore.
func (s *Store) ReleaseAttachments(ctx context.Context, msg domain.MessageID, owner domain.UserID, at time.Time) (int, error) {
	var m, o *string
	if msg != "" {
		v := string(msg)
		m = &v
	}
	if owner != "" {
		v := string(owner)
		o = &v
	}
	tag, err := s.pool.Exec(ctx, `
		UPDATE attachments SET message_id = NULL, conversation_id = NULL, expires_at = $3
		WHERE (message_id = $1::uuid OR owner_id = $2::uuid)
		  AND (message_id IS NOT NULL OR expires_at > $3)`, m, o, at)
	if err != nil {
		return 0, translate(err, "release attachments")
	}
	return int(tag.RowsAffected()), nil
}

// ExpiredAttachments implements ports.AttachmentStore.
func (s *Store) ExpiredAttachments(ctx context.Context, now time.Time, limit int) ([]domain.Attachment, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+attachmentColumns+` FROM attachments
		WHERE message_id IS NULL AND expires_at <= $1 ORDER BY expires_at, id LIMIT $2`, now, limit)
	if err != nil {
		return nil, translate(err, "expired attachments")
	}
	defer rows.Close()
	var out []domain.Attachment
	for rows.Next() {
		a, err := scanAttachment(rows)
		if err != nil {
			return nil, translate(err, "expired attachments")
		}
		out = append(out, a)
	}
	return out, translate(rows.Err(), "expired attachments")
}

// DeleteAttachment implements ports.AttachmentStore.
func (s *Store) DeleteAttachment(ctx context.Context, id domain.AttachmentID) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM attachments WHERE id = $1`, string(id))
	return translate(err, "delete attachment")
}
