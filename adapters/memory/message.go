package memory

import (
	"context"
	"encoding/json"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
)

// conversation is the stored state of one conversation. Messages sit at index
// sequence-1, so a page is a slice expression.
type conversation struct {
	id      domain.ConversationID
	members [2]domain.UserID // in id order
	msgs    []record
	// received lists, per member, the sequences of the messages that member
	// received, ascending: unread counts are a binary search away.
	received  [2][]domain.Sequence
	read      [2]domain.Sequence
	delivered [2]domain.Sequence
}

// record is a message as the store keeps it. Every garbage collection marks
// the whole history, so a record holds a single pointer, to a single
// allocation: the conversation supplies its id and members, the id and the
// times are numbers, and the variable-length fields share one string.
type record struct {
	id     uuid.UUID
	fields string // type, client message id, text and metadata, back to back
	// The lengths of the first three of fields; metadata is the rest.
	typeLen, clientLen, textLen uint32
	sender                      uint8 // index in members
	sentAt                      instant
	deliveredAt, readAt         instant
	// Changes (edits, the deletion): version 0 is a record never changed
	// (version 1); the deletion is always the sender's.
	version             int64
	editedAt, deletedAt instant
	pos                 ports.LogPosition // of the message in the log
	change              ports.LogPosition // of the last change applied
	changed             bool
}

// instant is a time kept without its location (the store's times are UTC).
type instant struct {
	sec  int64
	nsec int32
	set  bool
}

func instantOf(t time.Time) instant {
	return instant{sec: t.Unix(), nsec: int32(t.Nanosecond()), set: true}
}

func (i instant) time() time.Time { return time.Unix(i.sec, int64(i.nsec)).UTC() }

// ptr returns the time, or nil when it is not set.
func (i instant) ptr() *time.Time {
	if !i.set {
		return nil
	}
	t := i.time()
	return &t
}

// newRecord packs m, a valid message of c whose id is id.
func (c *conversation) newRecord(id uuid.UUID, m domain.Message) record {
	var b strings.Builder
	b.Grow(len(m.Type) + len(m.ClientMessageID) + len(m.Text) + len(m.Metadata))
	b.WriteString(string(m.Type))
	b.WriteString(m.ClientMessageID)
	b.WriteString(m.Text)
	b.Write(m.Metadata)
	r := record{
		id:        id,
		fields:    b.String(),
		typeLen:   uint32(len(m.Type)),
		clientLen: uint32(len(m.ClientMessageID)),
		textLen:   uint32(len(m.Text)),
		sentAt:    instantOf(m.SentAt),
	}
	if m.SenderID == c.members[1] {
		r.sender = 1
	}
	return r
}

// message unpacks the message at index i of c.
func (c *conversation) message(i int) domain.Message {
	r := &c.msgs[i]
	f := r.fields
	typ, f := f[:r.typeLen], f[r.typeLen:]
	client, f := f[:r.clientLen], f[r.clientLen:]
	text, meta := f[:r.textLen], f[r.textLen:]
	return domain.RestoreMessage(domain.Message{
		ID:              domain.MessageID(r.id.String()),
		ClientMessageID: client,
		ConversationID:  c.id,
		Sequence:        domain.Sequence(i + 1),
		SenderID:        c.members[r.sender],
		ReceiverID:      c.members[1-r.sender],
		Text:            text,
		Type:            domain.MessageType(typ),
		Metadata:        json.RawMessage(meta),
		SentAt:          r.sentAt.time(),
		DeliveredAt:     r.deliveredAt.ptr(),
		ReadAt:          r.readAt.ptr(),
		Version:         max(r.version, 1),
		EditedAt:        r.editedAt.ptr(),
		DeletedAt:       r.deletedAt.ptr(),
		DeletedBy:       deletedBy(r, c.members),
	})
}

func deletedBy(r *record, members [2]domain.UserID) domain.UserID {
	if !r.deletedAt.set {
		return ""
	}
	return members[r.sender]
}

// replace stores m, a changed form of the message at index i, keeping the
// receipts. A message deleted by the change leaves its receiver's received
// list: a tombstone is never unread.
func (c *conversation) replace(i int, m domain.Message) {
	old := c.msgs[i]
	r := c.newRecord(old.id, m)
	r.deliveredAt, r.readAt = old.deliveredAt, old.readAt
	r.version = m.Version
	if m.EditedAt != nil {
		r.editedAt = instantOf(*m.EditedAt)
	}
	if m.DeletedAt != nil {
		r.deletedAt = instantOf(*m.DeletedAt)
	}
	r.pos, r.change, r.changed = old.pos, old.change, old.changed
	c.msgs[i] = r
	if m.DeletedAt != nil && !old.deletedAt.set {
		recv := &c.received[1-r.sender]
		seq := domain.Sequence(i + 1)
		if k, found := slices.BinarySearch(*recv, seq); found {
			*recv = slices.Delete(*recv, k, k+1)
		}
	}
}

// messages unpacks the messages at indexes [from, to) of c.
func (c *conversation) messages(from, to int) []domain.Message {
	out := make([]domain.Message, 0, to-from)
	for i := from; i < to; i++ {
		out = append(out, c.message(i))
	}
	return out
}

// member returns the index of u in c.members, or -1.
func (c *conversation) member(u domain.UserID) int {
	switch u {
	case c.members[0]:
		return 0
	case c.members[1]:
		return 1
	}
	return -1
}

// unread counts the messages member i received above its read watermark.
func (c *conversation) unread(i int) int64 {
	recv := c.received[i]
	wm := c.read[i]
	// The first received sequence above the watermark.
	k := sort.Search(len(recv), func(j int) bool { return recv[j] > wm })
	return int64(len(recv) - k)
}

// msgRef locates a stored message: the conversation's index in Store.convList
// and the message's sequence. It holds no pointer, so neither does the index
// of every message.
type msgRef struct {
	conv int
	seq  domain.Sequence
}

// AppendBatch stores the batch atomically, skipping messages already stored
// and giving each new one the next sequence of its conversation. Messages are
// kept as given (the caller validated them); the store only needs their ids
// to be UUIDs. Errors: KindInvalid for an id that is not (nothing is stored),
// KindUnavailable when ctx ended.
func (s *Store) AppendBatch(ctx context.Context, batch []ports.Append) ([]ports.Appended, error) {
	if err := live(ctx); err != nil {
		return nil, err
	}
	// Parse every key first: once the lock is taken nothing can fail, so the
	// batch is stored whole or not at all.
	keys := make([]uuid.UUID, len(batch))
	for i, a := range batch {
		key, err := uuid.Parse(string(a.Message.ID))
		if err != nil {
			return nil, domain.Errorf(domain.KindInvalid, "message %d of the batch: message id is not a UUID", i)
		}
		keys[i] = key
	}
	out := make([]ports.Appended, len(batch))
	s.msgMu.Lock()
	defer s.msgMu.Unlock()
	for i, a := range batch {
		key := keys[i]
		if ref, ok := s.messages[key]; ok {
			out[i] = ports.Appended{Message: s.convList[ref.conv].message(int(ref.seq) - 1), Duplicate: true}
			continue
		}
		ci := s.conversation(a.Message.ConversationID)
		c := s.convList[ci]
		m := a.Message
		m.Sequence = domain.Sequence(len(c.msgs) + 1)
		m.DeliveredAt, m.ReadAt = nil, nil
		m.Version, m.EditedAt, m.DeletedAt, m.DeletedBy = 1, nil, nil, ""
		r := c.newRecord(key, m)
		r.pos = a.Position
		c.msgs = append(c.msgs, r)
		if r := c.member(m.ReceiverID); r >= 0 {
			c.received[r] = append(c.received[r], m.Sequence)
		}
		s.messages[key] = msgRef{ci, m.Sequence}
		out[i] = ports.Appended{Message: m}
	}
	return out, nil
}

// conversation returns the index in convList of the state of id, creating it.
// The caller holds msgMu.
func (s *Store) conversation(id domain.ConversationID) int {
	if i, ok := s.convIndex[id]; ok {
		return i
	}
	a, b := id.Members()
	c := &conversation{id: id, members: [2]domain.UserID{a, b}}
	i := len(s.convList)
	s.convList = append(s.convList, c)
	s.convIndex[id] = i
	for _, u := range c.members {
		if s.userConvs[u] == nil {
			s.userConvs[u] = map[domain.ConversationID]*conversation{}
		}
		s.userConvs[u][id] = c
	}
	return i
}

// lookup returns the state of id, if it has any. The caller holds msgMu.
func (s *Store) lookup(id domain.ConversationID) (*conversation, bool) {
	i, ok := s.convIndex[id]
	if !ok {
		return nil, false
	}
	return s.convList[i], true
}

// History returns a page of conv in ascending sequence order and whether more
// messages lie beyond it: older for a Before or newest page, newer (up to
// Before, when set) for a forward page.
func (s *Store) History(ctx context.Context, conv domain.ConversationID, page domain.Page) ([]domain.Message, bool, error) {
	if err := live(ctx); err != nil {
		return nil, false, err
	}
	page, err := page.Normalize()
	if err != nil {
		return nil, false, err
	}
	s.msgMu.RLock()
	defer s.msgMu.RUnlock()
	c, ok := s.lookup(conv)
	if !ok {
		return nil, false, nil
	}
	// [lo, hi) are the indexes of the range the page selects from.
	lo, hi := 0, len(c.msgs)
	if page.Before > 0 {
		hi = min(hi, int(page.Before)-1)
	}
	if page.HasAfter {
		lo = min(int(page.After), len(c.msgs))
	}
	if lo >= hi {
		return nil, false, nil
	}
	var from, to int
	var more bool
	if page.HasAfter {
		from, to = lo, min(hi, lo+page.Limit)
		more = to < hi
	} else {
		from, to = max(lo, hi-page.Limit), hi
		more = from > lo
	}
	return c.messages(from, to), more, nil
}

// MarkRead advances reader's read watermark and stamps readAt (and deliveredAt
// where unset) on the messages reader received up to it. Reading implies
// delivery, so the delivered watermark follows. Errors: KindInvalid when reader
// is not a member of conv.
func (s *Store) MarkRead(ctx context.Context, conv domain.ConversationID, reader domain.UserID, upTo domain.Sequence, at time.Time) (domain.Sequence, bool, error) {
	return s.mark(ctx, conv, reader, upTo, at, true)
}

// MarkDelivered advances receiver's delivered watermark and stamps deliveredAt
// on the messages receiver received up to it. Errors: KindInvalid when
// receiver is not a member of conv.
func (s *Store) MarkDelivered(ctx context.Context, conv domain.ConversationID, receiver domain.UserID, upTo domain.Sequence, at time.Time) (domain.Sequence, bool, error) {
	return s.mark(ctx, conv, receiver, upTo, at, false)
}

func (s *Store) mark(ctx context.Context, conv domain.ConversationID, user domain.UserID, upTo domain.Sequence, at time.Time, read bool) (domain.Sequence, bool, error) {
	if err := live(ctx); err != nil {
		return 0, false, err
	}
	if !conv.Has(user) {
		return 0, false, domain.Errorf(domain.KindInvalid, "not a member of the conversation")
	}
	s.msgMu.Lock()
	defer s.msgMu.Unlock()
	c, ok := s.lookup(conv)
	if !ok {
		return 0, false, nil // nothing to mark: the watermark clamps to 0
	}
	i := c.member(user)
	wm := &c.delivered[i]
	if read {
		wm = &c.read[i]
	}
	target := min(upTo, domain.Sequence(len(c.msgs)))
	if target <= *wm {
		return *wm, false, nil
	}
	stamp := instantOf(at)
	recv := c.received[i]
	k := sort.Search(len(recv), func(j int) bool { return recv[j] > *wm })
	for ; k < len(recv) && recv[k] <= target; k++ {
		r := &c.msgs[recv[k]-1]
		if read && !r.readAt.set {
			r.readAt = stamp
		}
		if !r.deliveredAt.set {
			r.deliveredAt = stamp
		}
	}
	*wm = target
	if read && c.delivered[i] < target {
		c.delivered[i] = target
	}
	return target, true, nil
}

// UnreadCounts counts, per conversation, the messages user received above its
// read watermark.
func (s *Store) UnreadCounts(ctx context.Context, user domain.UserID) (domain.UnreadCounts, error) {
	if err := live(ctx); err != nil {
		return domain.UnreadCounts{}, err
	}
	counts := domain.UnreadCounts{ByConversation: map[domain.ConversationID]int64{}}
	s.msgMu.RLock()
	defer s.msgMu.RUnlock()
	for id, c := range s.userConvs[user] {
		if n := c.unread(c.member(user)); n > 0 {
			counts.ByConversation[id] = n
			counts.Total += n
		}
	}
	return counts, nil
}

// Conversations lists user's conversations, newest last message first (by send
// time, then conversation id), up to limit (all when limit <= 0).
func (s *Store) Conversations(ctx context.Context, user domain.UserID, limit int) ([]domain.ConversationSummary, error) {
	if err := live(ctx); err != nil {
		return nil, err
	}
	s.msgMu.RLock()
	sums := make([]domain.ConversationSummary, 0, len(s.userConvs[user]))
	for id, c := range s.userConvs[user] {
		if len(c.msgs) == 0 {
			continue
		}
		i := c.member(user)
		sums = append(sums, domain.ConversationSummary{
			ConversationID: id,
			Peer:           domain.User{ID: c.members[1-i]},
			LastMessage:    c.message(len(c.msgs) - 1),
			UnreadCount:    c.unread(i),
		})
	}
	s.msgMu.RUnlock()
	slices.SortFunc(sums, func(a, b domain.ConversationSummary) int {
		if n := b.LastMessage.SentAt.Compare(a.LastMessage.SentAt); n != 0 {
			return n
		}
		return strings.Compare(string(a.ConversationID), string(b.ConversationID))
	})
	if limit > 0 && len(sums) > limit {
		sums = sums[:limit]
	}
	ids := make([]domain.UserID, len(sums))
	for i, sum := range sums {
		ids[i] = sum.Peer.ID
	}
	for i, u := range s.usersByID(ids) {
		sums[i].Peer = u
	}
	return sums, nil
}
