package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
)

var _ ports.InboxStore = (*Store)(nil)

// UnreadCounts implements ports.InboxStore from the unread counts kept beside
// the read watermarks.
func (s *Store) UnreadCounts(ctx context.Context, user domain.UserID) (domain.UnreadCounts, error) {
	if _, err := domain.ParseUserID(string(user)); err != nil {
		return domain.UnreadCounts{}, err
	}
	rows, err := s.pool.Query(ctx, `
		SELECT conversation_id, unread_count FROM conversation_members
		WHERE user_id = $1 AND unread_count > 0`, string(user))
	if err != nil {
		return domain.UnreadCounts{}, translate(err, "unread counts")
	}
	counts := domain.UnreadCounts{ByConversation: map[domain.ConversationID]int64{}}
	var (
		conv string
		n    int64
	)
	_, err = pgx.ForEachRow(rows, []any{&conv, &n}, func() error {
		counts.ByConversation[domain.ConversationID(conv)] = n
		counts.Total += n
		return nil
	})
	if err != nil {
		return domain.UnreadCounts{}, translate(err, "unread counts")
	}
	return counts, nil
}

// Conversations implements ports.InboxStore in one query: the member rows of
// user, their conversations, the peer and the last message (found by the
// conversation's last sequence).
func (s *Store) Conversations(ctx context.Context, user domain.UserID, limit int) ([]domain.ConversationSummary, error) {
	if _, err := domain.ParseUserID(string(user)); err != nil {
		return nil, err
	}
	if limit <= 0 {
		return []domain.ConversationSummary{}, nil
	}
	rows, err := s.pool.Query(ctx, `
		SELECT m.unread_count, `+userColumns+`, `+messageColumns+`
		FROM conversation_members m
		JOIN conversations c ON c.id = m.conversation_id
		JOIN users u ON u.id = CASE WHEN c.user_a = m.user_id THEN c.user_b ELSE c.user_a END
		JOIN chats ch ON ch.conversation_id = c.id AND ch.sequence_id = c.last_sequence
		WHERE m.user_id = $1 AND c.last_sequence > 0
		ORDER BY c.last_message_at DESC, c.id
		LIMIT $2`, string(user), limit)
	if err != nil {
		return nil, translate(err, "conversations")
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (domain.ConversationSummary, error) {
		var (
			cs     domain.ConversationSummary
			peerID string
			msg    messageFields
		)
		dest := append([]any{&cs.UnreadCount, &peerID, &cs.Peer.FirstName, &cs.Peer.LastName, &cs.Peer.Email, &cs.Peer.PasswordHash, &cs.Peer.CreatedAt}, msg.dest()...)
		if err := r.Scan(dest...); err != nil {
			return cs, err
		}
		cs.Peer.ID, cs.Peer.CreatedAt = domain.UserID(peerID), utc(cs.Peer.CreatedAt)
		cs.LastMessage = msg.message()
		cs.ConversationID = cs.LastMessage.ConversationID
		return cs, nil
	})
	if err != nil {
		return nil, translate(err, "conversations")
	}
	return out, nil
}
