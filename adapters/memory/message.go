package memory

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
)

// conversation is the stored state of one conversation. Messages sit at index
// sequence-1, so a page is a slice expression.
type conversation struct {
	id      domain.ConversationID
	members [2]domain.UserID // in id order
	msgs    []domain.Message
	// received lists, per member, the sequences of the messages that member
	// received, ascending: unread counts are a binary search away.
	received  [2][]domain.Sequence
	read      [2]domain.Sequence
	delivered [2]domain.Sequence
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

// msgRef locates a stored message.
type msgRef struct {
	conv *conversation
	seq  domain.Sequence
}

func (r msgRef) message() domain.Message { return r.conv.msgs[r.seq-1] }

// AppendBatch stores the batch atomically, skipping messages already stored
// and giving each new one the next sequence of its conversation.
// Errors: KindInvalid (nothing is stored), KindUnavailable when ctx ended.
func (s *Store) AppendBatch(ctx context.Context, batch []ports.Append) ([]ports.Appended, error) {
	if err := live(ctx); err != nil {
		return nil, err
	}
	// Validate everything first: once the lock is taken nothing can fail, so the
	// batch is stored whole or not at all.
	for i, a := range batch {
		if err := a.Message.Validate(); err != nil {
			return nil, domain.Wrap(domain.KindInvalid, err, fmt.Sprintf("message %d of the batch: %s", i, domain.MessageOf(err)))
		}
	}
	out := make([]ports.Appended, len(batch))
	s.msgMu.Lock()
	defer s.msgMu.Unlock()
	for i, a := range batch {
		if ref, ok := s.messages[a.Message.ID]; ok {
			out[i] = ports.Appended{Message: ref.message(), Duplicate: true}
			continue
		}
		c := s.conversation(a.Message.ConversationID)
		m := a.Message
		m.Sequence = domain.Sequence(len(c.msgs) + 1)
		m.Metadata = bytes.Clone(m.Metadata)
		m.DeliveredAt, m.ReadAt = nil, nil
		c.msgs = append(c.msgs, m)
		if r := c.member(m.ReceiverID); r >= 0 {
			c.received[r] = append(c.received[r], m.Sequence)
		}
		s.messages[m.ID] = msgRef{c, m.Sequence}
		out[i] = ports.Appended{Message: m}
	}
	return out, nil
}

// conversation returns the state of id, creating it. The caller holds msgMu.
func (s *Store) conversation(id domain.ConversationID) *conversation {
	if c, ok := s.convs[id]; ok {
		return c
	}
	a, b := id.Members()
	c := &conversation{id: id, members: [2]domain.UserID{a, b}}
	s.convs[id] = c
	for _, u := range c.members {
		if s.userConvs[u] == nil {
			s.userConvs[u] = map[domain.ConversationID]*conversation{}
		}
		s.userConvs[u][id] = c
	}
	return c
}

// History returns a page of conv in ascending sequence order and whether more
// messages lie beyond it: older for a Before or newest page, newer (up to
// Before, when set) for an After page.
func (s *Store) History(ctx context.Context, conv domain.ConversationID, page domain.Page) ([]domain.Message, bool, error) {
	if err := live(ctx); err != nil {
		return nil, false, err
	}
	if page.Limit <= 0 {
		page.Limit = domain.DefaultPageLimit
	}
	s.msgMu.RLock()
	defer s.msgMu.RUnlock()
	c, ok := s.convs[conv]
	if !ok {
		return nil, false, nil
	}
	// [lo, hi) are the indexes of the range the page selects from.
	lo, hi := 0, len(c.msgs)
	if page.Before > 0 {
		hi = min(hi, int(page.Before)-1)
	}
	if page.After > 0 {
		lo = min(int(page.After), len(c.msgs))
	}
	if lo >= hi {
		return nil, false, nil
	}
	var from, to int
	var more bool
	if page.After > 0 {
		from, to = lo, min(hi, lo+page.Limit)
		more = to < hi
	} else {
		from, to = max(lo, hi-page.Limit), hi
		more = from > lo
	}
	return slices.Clone(c.msgs[from:to]), more, nil
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
	c, ok := s.convs[conv]
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
	stamp := at
	recv := c.received[i]
	k := sort.Search(len(recv), func(j int) bool { return recv[j] > *wm })
	for ; k < len(recv) && recv[k] <= target; k++ {
		m := &c.msgs[recv[k]-1]
		if read && m.ReadAt == nil {
			m.ReadAt = &stamp
		}
		if m.DeliveredAt == nil {
			m.DeliveredAt = &stamp
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
			LastMessage:    c.msgs[len(c.msgs)-1],
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
