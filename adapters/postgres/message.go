package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
)

var _ ports.MessageStore = (*Store)(nil)

// messageColumns are the columns scanMessage reads, in order.
const messageColumns = `ch.message_id, ch.client_message_id, ch.conversation_id, ch.sequence_id, ch.sender_id,
	ch.receiver_id, ch.message, ch.message_type, ch.metadata, ch."timestamp", ch.delivered_at, ch.read_at,
	ch.edit_version, ch.edited_at, ch.deleted_at, ch.deleted_by`

// AppendBatch implements ports.MessageStore, in one transaction:
//
//  1. lock the batch's conversation rows in id order, which serialises the
//     appends to each conversation and keeps concurrent batches from
//     deadlocking;
//  2. look the batch's message ids up: a message id is derived from sender
//     and clientMessageId, so a hit is a message already stored;
//  3. number the new messages from each conversation's last_sequence, in
//     batch order;
//  4. insert them with one multi-row INSERT over unnest (no ON CONFLICT: a
//     sequence collision aborts the batch) and advance each conversation's
//     last_sequence and its receivers' unread counts in the same statement.
//
// Because the lookup runs after the locks are held, a second caller appending
// the same batch at the same time waits, then finds every message stored.
//
// A batch costs three round trips: BEGIN, lock and lookup in one pipeline;
// the insert; COMMIT.
//
// A sequence collision means a conversation's counter is behind its stored
// rows (a restored backup, a hand edit): the counters of the batch's
// conversations are advanced to their highest stored sequence, the repair is
// logged as an error, and the batch runs once more; a second collision is
// returned (KindConflict).
//
// When a conversation has no row yet, the transaction is rolled back and run
// again creating every conversation of the batch (in id order, ON CONFLICT DO
// NOTHING) before locking them: a transaction never waits for a conversation
// another one is creating while it holds row locks, so the lock order stays
// total. Only a conversation's first batch pays for this.
func (s *Store) AppendBatch(ctx context.Context, batch []ports.Append) ([]ports.Appended, error) {
	if len(batch) == 0 {
		return []ports.Appended{}, nil
	}
	for i, a := range batch {
		if err := storable(a.Message); err != nil {
			return nil, domain.Wrap(domain.KindInvalid, err, fmt.Sprintf("message %d of the batch: %s", i, domain.MessageOf(err)))
		}
	}
	const what = "append messages"
	create, repaired := false, false
	for attempt := 0; ; attempt++ {
		out, err := s.appendOnce(ctx, batch, create)
		switch {
		case err == nil:
			return out, nil
		case errors.Is(err, errNewConversation) && !create:
			create = true
			continue
		case isSequenceCollision(err) && !repaired:
			repaired = true
			if rerr := s.repairCounters(ctx, batch); rerr != nil {
				return nil, translate(rerr, what)
			}
			continue
		case retryable(err) && attempt < s.txRetries && ctx.Err() == nil:
			s.log.WarnContext(ctx, "postgres: transaction retried", "op", what, "attempt", attempt+1, "error", err)
			continue
		}
		var pe *pgconn.PgError
		switch {
		case errors.As(err, &pe) && pe.Code == codeForeignKeyViolation:
			// Only a new conversation's members are checked against users.
			return nil, domain.Wrap(domain.KindInvalid, err, what+": sender or receiver does not exist")
		case errors.As(err, &pe) && (strings.HasPrefix(pe.Code, "22") || pe.Code == codeCheckViolation):
			// A value of the batch the table cannot hold that storable let
			// through: KindInvalid, so the batch's caller sets it aside.
			return nil, domain.Wrap(domain.KindInvalid, err, what+": a message was rejected by the database")
		}
		return nil, translate(err, what)
	}
}

// storable checks what the chats table cannot keep of m, before any round
// trip: ids that are not UUIDs, text or a clientMessageId that is not valid
// UTF-8 or holds a NUL, a clientMessageId longer than its column, and
// metadata jsonb refuses (checkJSONB). What else the database refuses (an
// unknown message type, by the table's constraint) fails the batch with
// KindInvalid too.
func storable(m domain.Message) error {
	for _, id := range []string{string(m.ID), string(m.SenderID), string(m.ReceiverID)} {
		if uuid.Validate(id) != nil {
			return domain.Errorf(domain.KindInvalid, "id %q is not a UUID", id)
		}
	}
	if err := domain.ValidateString("message", m.Text, math.MaxInt); err != nil {
		return err
	}
	if err := domain.ValidateString("clientMessageId", m.ClientMessageID, math.MaxInt); err != nil {
		return err
	}
	if utf8.RuneCountInString(m.ClientMessageID) > maxClientMessageIDChars {
		return domain.Errorf(domain.KindInvalid, "clientMessageId exceeds %d characters", maxClientMessageIDChars)
	}
	return checkJSONB(m.Metadata)
}

// maxClientMessageIDChars is the length of chats.client_message_id.
const maxClientMessageIDChars = 128

// isSequenceCollision tells whether err is the insert hitting a stored
// (conversation, sequence).
func isSequenceCollision(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == codeUniqueViolation && pe.ConstraintName == "unique_conversation_message"
}

// repairCounters advances the counters of the batch's conversations that are
// behind their stored rows to the highest stored sequence.
func (s *Store) repairCounters(ctx context.Context, batch []ports.Append) error {
	convs := make([]string, 0, len(batch))
	for _, a := range batch {
		convs = append(convs, string(a.Message.ConversationID))
	}
	tag, err := s.pool.Exec(ctx, `
		UPDATE conversations c SET last_sequence = m.top
		FROM (SELECT conversation_id, max(sequence_id) AS top FROM chats
			WHERE conversation_id = ANY($1::text[]) GROUP BY conversation_id) m
		WHERE c.id = m.conversation_id AND c.last_sequence < m.top`, convs)
	if err != nil {
		return err
	}
	s.log.ErrorContext(ctx, "postgres: conversation counters were behind their stored messages; advanced to the highest stored sequence",
		"conversations", tag.RowsAffected())
	return nil
}

// errNewConversation aborts an append that found a conversation without a row.
var errNewConversation = errors.New("append: the batch starts a conversation")

// SQL of the append. $1 of the first three is the batch's conversation ids,
// sorted.
const (
	// Concurrent creators of the same conversation wait for each other here,
	// in id order.
	createConversationsSQL = `
		WITH created AS (
			INSERT INTO conversations (id, user_a, user_b)
			SELECT c.id, c.a, c.b FROM unnest($1::text[], $2::uuid[], $3::uuid[]) AS c(id, a, b) ORDER BY c.id
			ON CONFLICT (id) DO NOTHING
			RETURNING id, user_a, user_b
		)
		INSERT INTO conversation_members (conversation_id, user_id)
		SELECT id, user_a FROM created UNION ALL SELECT id, user_b FROM created`
	lockConversationsSQL = `
		SELECT id, last_sequence FROM conversations
		WHERE id = ANY($1::text[])
		ORDER BY id
		FOR NO KEY UPDATE`
	storedMessagesSQL = `SELECT ` + messageColumns + ` FROM chats ch WHERE ch.message_id = ANY($1::uuid[])`
	insertMessagesSQL = `
		WITH inserted AS (
			INSERT INTO chats (message_id, client_message_id, conversation_id, sender_id, receiver_id, message,
				message_type, metadata, "timestamp", sequence_id, kafka_partition, kafka_offset)
			SELECT m.id, m.cid, m.conv, m.sender, m.receiver, m.body, m.typ, NULLIF(m.meta, '')::jsonb, m.at, m.seq, m.part, m.off
			FROM unnest($1::uuid[], $2::text[], $3::text[], $4::uuid[], $5::uuid[], $6::text[], $7::text[], $8::text[],
				$9::timestamptz[], $10::int8[], $11::text[], $12::int8[])
				AS m(id, cid, conv, sender, receiver, body, typ, meta, at, seq, part, off)
			RETURNING 1
		), advanced AS (
			UPDATE conversations c SET last_sequence = u.last, last_message_at = u.at
			FROM unnest($13::text[], $14::int8[], $15::timestamptz[]) AS u(id, last, at)
			WHERE c.id = u.id
			RETURNING 1
		), counted AS (
			UPDATE conversation_members cm SET unread_count = cm.unread_count + u.n
			FROM unnest($16::text[], $17::uuid[], $18::int8[]) AS u(conv, usr, n)
			WHERE cm.conversation_id = u.conv AND cm.user_id = u.usr
			RETURNING 1
		)
		SELECT (SELECT count(*) FROM inserted), (SELECT count(*) FROM advanced), (SELECT count(*) FROM counted)`
)

// conversationRow is a conversation as the append sees it.
type conversationRow struct {
	id       domain.ConversationID
	locked   bool
	last     int64     // last sequence before the batch
	next     int64     // last sequence after the batch
	lastAt   time.Time // timestamp of the message with sequence next
	received map[domain.UserID]int64
}

// appendOnce runs one transaction of AppendBatch. create says whether to
// create the batch's conversations first; without it, a missing one ends the
// transaction with errNewConversation. Errors are the driver's, untranslated.
func (s *Store) appendOnce(ctx context.Context, batch []ports.Append, create bool) ([]ports.Appended, error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	// The pool destroys a connection released inside a transaction, so an
	// append that fails half-way leaves nothing behind even when the
	// rollback cannot be sent.
	defer conn.Release()
	committed := false
	defer func() {
		if !committed && !conn.Conn().IsClosed() {
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			_, _ = conn.Exec(rctx, "ROLLBACK")
		}
	}()

	convs := make(map[domain.ConversationID]*conversationRow)
	var convIDs []string
	var msgIDs uuids
	for _, a := range batch {
		msgIDs.add(string(a.Message.ID))
		id := a.Message.ConversationID
		if _, ok := convs[id]; !ok {
			convs[id] = &conversationRow{id: id, received: make(map[domain.UserID]int64, 2)}
			convIDs = append(convIDs, string(id))
		}
	}
	slices.Sort(convIDs)

	// Round trip 1: begin, lock, look up. Each statement of a READ COMMITTED
	// transaction sees what committed before it started, so the lookup sees
	// every append that held these locks before.
	var (
		first  pgx.Batch
		stored = make(map[domain.MessageID]domain.Message)
	)
	first.Queue("BEGIN")
	// The lock and the lookup are planned for each batch. A generic plan is
	// kept for as long as the connection lives or the table's statistics do
	// not change, and one made while chats was small scans the whole table:
	// a table filled from empty grows a hundredfold between two analyses, and
	// each lookup reads all of it. Planning these two is cheap beside that.
	first.Queue("SET LOCAL plan_cache_mode = force_custom_plan")
	if create {
		userA, userB := make([]string, len(convIDs)), make([]string, len(convIDs))
		for i, id := range convIDs {
			a, b := domain.ConversationID(id).Members()
			userA[i], userB[i] = string(a), string(b)
		}
		first.Queue(createConversationsSQL, convIDs, userA, userB)
	}
	first.Queue(lockConversationsSQL, convIDs).Query(func(rows pgx.Rows) error {
		var (
			id   string
			last int64
		)
		_, err := pgx.ForEachRow(rows, []any{&id, &last}, func() error {
			c := convs[domain.ConversationID(id)]
			if c == nil {
				return errf("append: locked unexpected conversation %q", id)
			}
			c.locked, c.last, c.next = true, last, last
			return nil
		})
		return err
	})
	if msgIDs.err != nil {
		return nil, msgIDs.err
	}
	first.Queue(storedMessagesSQL, msgIDs.list).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			m, err := scanMessage(rows)
			if err != nil {
				return err
			}
			stored[m.ID] = m
		}
		return rows.Err()
	})
	// The insert reuses the connection's cached generic plan whatever the
	// batch size: planning it costs about as much as running it for a few
	// rows, and a plan made for the batch's size made no batch faster
	// (BenchmarkAppendBatch; docs/benchmarks-history.md).
	first.Queue("SET LOCAL plan_cache_mode TO DEFAULT")
	if err := conn.SendBatch(ctx, &first).Close(); err != nil {
		return nil, err
	}
	for _, c := range convs {
		if !c.locked {
			if create {
				return nil, errf("append: conversation %s could not be locked", c.id)
			}
			return nil, errNewConversation
		}
	}

	out := make([]ports.Appended, len(batch))
	var ins insertRows
	for i, a := range batch {
		m := a.Message
		if prev, ok := stored[m.ID]; ok {
			out[i] = ports.Appended{Message: prev, Duplicate: true}
			continue
		}
		c := convs[m.ConversationID]
		c.next++
		m.Sequence = domain.Sequence(c.next)
		m.SentAt = m.SentAt.Truncate(time.Microsecond).UTC() // what timestamptz keeps
		m.DeliveredAt, m.ReadAt = nil, nil
		m.Version, m.EditedAt, m.DeletedAt, m.DeletedBy = 1, nil, nil, ""
		c.lastAt = m.SentAt
		c.received[m.ReceiverID]++
		stored[m.ID] = m // a repeat later in the batch is a duplicate of this one
		ins.add(m, a.Position)
		out[i] = ports.Appended{Message: m}
	}

	// Round trip 2: insert. Round trip 3: commit. COMMIT is not pipelined
	// with the insert: the server would run it even after this side gave up
	// (a cancelled context, a lost connection), and an append reported as
	// failed must not be stored behind the caller's back.
	if len(ins.ids.list) > 0 {
		var second pgx.Batch
		if err := ins.queue(&second, convs); err != nil {
			return nil, err
		}
		if err := conn.SendBatch(ctx, &second).Close(); err != nil {
			return nil, err
		}
	}
	tag, err := conn.Exec(ctx, "COMMIT")
	if err != nil {
		return nil, err
	}
	if tag.String() != "COMMIT" {
		return nil, errf("append: transaction ended with %q instead of COMMIT", tag.String())
	}
	committed = true
	return out, nil
}

// insertRows holds the columns of the new messages of a batch.
type insertRows struct {
	ids, senders, receivers                              uuids
	clientIDs, convs, texts, types, metadata, partitions []string
	seqs, offsets                                        []int64
	sentAt                                               []time.Time
}

func (r *insertRows) add(m domain.Message, pos ports.LogPosition) {
	r.ids.add(string(m.ID))
	r.clientIDs = append(r.clientIDs, m.ClientMessageID)
	r.convs = append(r.convs, string(m.ConversationID))
	r.senders.add(string(m.SenderID))
	r.receivers.add(string(m.ReceiverID))
	r.texts = append(r.texts, m.Text)
	r.types = append(r.types, string(m.Type))
	r.metadata = append(r.metadata, string(m.Metadata)) // "" (none) becomes NULL
	r.partitions = append(r.partitions, strconv.FormatInt(int64(pos.Partition), 10))
	r.seqs = append(r.seqs, int64(m.Sequence))
	r.offsets = append(r.offsets, pos.Offset)
	r.sentAt = append(r.sentAt, m.SentAt)
}

// queue adds to b the statement that inserts the rows and advances the
// conversations and unread counts.
func (r *insertRows) queue(b *pgx.Batch, convs map[domain.ConversationID]*conversationRow) error {
	var (
		convIDs   []string
		lasts     []int64
		lastAts   []time.Time
		memConvs  []string
		memUsers  uuids
		memCounts []int64
	)
	for _, c := range convs {
		if c.next == c.last {
			continue
		}
		convIDs, lasts, lastAts = append(convIDs, string(c.id)), append(lasts, c.next), append(lastAts, c.lastAt)
		for u, n := range c.received {
			memConvs, memCounts = append(memConvs, string(c.id)), append(memCounts, n)
			memUsers.add(string(u))
		}
	}
	if err := errors.Join(r.ids.err, r.senders.err, r.receivers.err, memUsers.err); err != nil {
		return err
	}
	b.Queue(insertMessagesSQL,
		r.ids.list, r.clientIDs, r.convs, r.senders.list, r.receivers.list, r.texts, r.types, r.metadata,
		r.sentAt, r.seqs, r.partitions, r.offsets,
		convIDs, lasts, lastAts,
		memConvs, memUsers.list, memCounts,
	).QueryRow(func(row pgx.Row) error {
		var inserted, advanced, counted int64
		if err := row.Scan(&inserted, &advanced, &counted); err != nil {
			return err
		}
		if inserted != int64(len(r.ids.list)) || advanced != int64(len(convIDs)) || counted != int64(len(memConvs)) {
			return errf("append: inserted %d of %d messages, advanced %d of %d conversations, counted %d of %d members",
				inserted, len(r.ids.list), advanced, len(convIDs), counted, len(memConvs))
		}
		return nil
	})
	return nil
}

// uuids collects UUIDs in their binary form, which goes over the wire as 16
// bytes each; a uuid[] of strings goes as an array literal that pgx quotes
// element by element and PostgreSQL parses back. The ids are validated
// domain values, so a malformed one is a bug; the first is kept in err.
type uuids struct {
	list [][16]byte
	err  error
}

func (u *uuids) add(s string) {
	b, err := uuid.Parse(s)
	if err != nil && u.err == nil {
		u.err = fmt.Errorf("postgres: malformed uuid %q: %w", s, err)
	}
	u.list = append(u.list, b)
}

// History implements ports.MessageStore.
func (s *Store) History(ctx context.Context, conv domain.ConversationID, page domain.Page) ([]domain.Message, bool, error) {
	if err := validateConversation(conv); err != nil {
		return nil, false, err
	}
	page, err := page.Normalize()
	if err != nil {
		return nil, false, err
	}
	var rows pgx.Rows
	switch {
	case page.HasAfter && page.Before > 0:
		rows, err = s.pool.Query(ctx, `SELECT `+messageColumns+` FROM chats ch
			WHERE ch.conversation_id = $1 AND ch.sequence_id > $2 AND ch.sequence_id < $3
			ORDER BY ch.sequence_id LIMIT $4`, string(conv), int64(page.After), int64(page.Before), page.Limit+1)
	case page.HasAfter:
		rows, err = s.pool.Query(ctx, `SELECT `+messageColumns+` FROM chats ch
			WHERE ch.conversation_id = $1 AND ch.sequence_id > $2
			ORDER BY ch.sequence_id LIMIT $3`, string(conv), int64(page.After), page.Limit+1)
	case page.Before > 0:
		rows, err = s.pool.Query(ctx, `SELECT `+messageColumns+` FROM chats ch
			WHERE ch.conversation_id = $1 AND ch.sequence_id < $2
			ORDER BY ch.sequence_id DESC LIMIT $3`, string(conv), int64(page.Before), page.Limit+1)
	default:
		rows, err = s.pool.Query(ctx, `SELECT `+messageColumns+` FROM chats ch
			WHERE ch.conversation_id = $1
			ORDER BY ch.sequence_id DESC LIMIT $2`, string(conv), page.Limit+1)
	}
	if err != nil {
		return nil, false, translate(err, "history")
	}
	msgs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (domain.Message, error) { return scanMessage(r) })
	if err != nil {
		return nil, false, translate(err, "history")
	}
	more := len(msgs) > page.Limit
	if more {
		msgs = msgs[:page.Limit]
	}
	if !page.HasAfter {
		slices.Reverse(msgs)
	}
	return msgs, more, nil
}

// validateConversation checks that conv is a canonical conversation id.
func validateConversation(conv domain.ConversationID) error {
	parsed, err := domain.ParseConversationID(string(conv))
	if err != nil {
		return err
	}
	if parsed != conv {
		return domain.Errorf(domain.KindInvalid, "conversation id is not in canonical form")
	}
	return nil
}

// messageFields receives the columns of messageColumns.
type messageFields struct {
	m                          domain.Message
	id, conv, sender, receiver string
	typ                        string
	seq                        int64
	meta                       []byte
	deletedBy                  *string
}

func (f *messageFields) dest() []any {
	return []any{&f.id, &f.m.ClientMessageID, &f.conv, &f.seq, &f.sender, &f.receiver, &f.m.Text, &f.typ, &f.meta,
		&f.m.SentAt, &f.m.DeliveredAt, &f.m.ReadAt, &f.m.Version, &f.m.EditedAt, &f.m.DeletedAt, &f.deletedBy}
}

// message rebuilds the row's message; AppendBatch and the changes stored
// nothing else.
func (f *messageFields) message() domain.Message {
	m := f.m
	m.ID, m.ConversationID = domain.MessageID(f.id), domain.ConversationID(f.conv)
	m.SenderID, m.ReceiverID = domain.UserID(f.sender), domain.UserID(f.receiver)
	m.Type, m.Sequence = domain.MessageType(f.typ), domain.Sequence(f.seq)
	m.Metadata = json.RawMessage(f.meta)
	if f.deletedBy != nil {
		m.DeletedBy = domain.UserID(*f.deletedBy)
	}
	m.EditedAt, m.DeletedAt = utcOrNil(m.EditedAt), utcOrNil(m.DeletedAt)
	return domain.RestoreMessage(m)
}

// utcOrNil returns t in UTC, or nil.
func utcOrNil(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

func scanMessage(row pgx.Row) (domain.Message, error) {
	var f messageFields
	if err := row.Scan(f.dest()...); err != nil {
		return domain.Message{}, err
	}
	return f.message(), nil
}
