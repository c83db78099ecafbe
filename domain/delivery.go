package domain

import (
	"context"
	"errors"
	"slices"
)

// MessageRef is what delivery reads of a live message: its conversation,
// sequence and id.
type MessageRef struct {
	ConversationID ConversationID
	Sequence       Sequence
	ID             MessageID
}

// DeliveryDevice is the device end of a Delivery, which a transport
// implements. F is the transport's frame of a live message.
type DeliveryDevice[F any] interface {
	// History reads a page of a conversation as the device's user.
	History(ctx context.Context, conv ConversationID, page Page) ([]Message, bool, error)
	// WriteLive writes a live message's frame as the transport received it.
	WriteLive(frame F) error
	// WriteEvent writes an event the Delivery makes: newMessage of a stored
	// message, or resync.
	WriteEvent(ev Event) error
}

// DeliveryObserver hears what a Delivery meets besides plain delivery. It is
// called on the goroutine driving the Delivery, in order with the writes.
type DeliveryObserver interface {
	// ResumeFailed: the history of conv could not be read for a resume. The
	// conversation is skipped and the others replay; the observer may tell
	// the device (an error event). An error it returns ends the resume.
	ResumeFailed(conv ConversationID, err error) error
	// FillFailed: the gap between after and before could not be read from
	// history; the live message at before went out anyway.
	FillFailed(conv ConversationID, after, before Sequence, err error)
	// SequenceReused: a live message came under a sequence the device got
	// under another message id, a broken guarantee upstream. It was delivered
	// all the same: clients deduplicate by message id.
	SequenceReused(conv ConversationID, seq Sequence, id MessageID)
	// CursorAhead: a resume's cursor was above the store's highest sequence,
	// stored. The device was sent resync; the messages after stored go out,
	// and no live message at or below it is taken for a repeat.
	CursorAhead(conv ConversationID, cursor, stored Sequence)
}

// ErrHoldOverflow is returned by Live when a live message would exceed the
// messages held for the first resume: the device is too slow to resume, and
// the transport closes it with its reconnect code.
var ErrHoldOverflow = errors.New("delivery: too many live messages held for the first resume")

// DeliveryConfig configures a Delivery.
type DeliveryConfig struct {
	// Hold makes live messages wait until the first Resume or EndHold, so that
	// a device that announced a resume gets its replay before anything newer.
	Hold bool
	// HoldLimit is how many live messages may wait; one more is
	// ErrHoldOverflow. Default 256.
	HoldLimit int
	// PageSize is how many messages one History call reads, at most
	// MaxPageLimit (the default).
	PageSize int
}

// deliveryIDs is how many of the latest message ids a Delivery remembers per
// conversation, to tell a repeated message from another one under the same
// sequence. An older sequence that comes again is taken for a repeat.
const deliveryIDs = 64

// Delivery is the delivery state of one device (one socket): per
// conversation, what the device has and which ids it was sent. It decides
// what a live message becomes and replays what a device resuming lacks, so
// that the device sees each conversation in sequence order, with nothing
// lost and nothing repeated:
//
//   - a live message of a conversation without a record is sent, and starts
//     the record;
//   - the next sequence is sent;
//   - a sequence further ahead means messages were lost on the way: the gap
//     is read from history and sent first (if that fails the live message
//     goes out anyway, and the device sees the jump);
//   - a sequence at or below the highest sent is a repeat and is dropped,
//     unless it was sent under another message id: then it is delivered and
//     reported (DeliveryObserver.SequenceReused);
//   - a sequence below the first one sent, with no resume cursor covering
//     it, was never sent, and is.
//
// Resume replays, per conversation, what the device lacks after its cursor
// and was not sent here, then lets live messages through. A cursor above the
// store's highest sequence is not taken as sent: the device gets resync with
// the store's position, which becomes its cursor, and no live message it was
// not sent is dropped. With Hold, live messages
// wait for the first Resume (or EndHold) and then go through the rules above.
//
// A Delivery is not safe for concurrent use: one goroutine, the transport's
// writer, drives it. Device write errors end the call that met them and are
// returned; the Delivery must not be used after one.
type Delivery[F any] struct {
	device    DeliveryDevice[F]
	observer  DeliveryObserver
	holdLimit int
	pageSize  int

	holding bool
	held    []heldLive[F]
	convs   map[ConversationID]*deliveryConv
}

type heldLive[F any] struct {
	ref   MessageRef
	frame F
}

// deliveryConv is what a device has of one conversation: every message from
// from to highest (sent here, or below a resume cursor), and the ids of the
// latest ones sent.
type deliveryConv struct {
	from, highest Sequence
	ids           []sentID // at most deliveryIDs, oldest replaced first
	next          int      // the slot replaced next once ids is full
}

type sentID struct {
	seq Sequence
	id  uint64 // fingerprint of the message id
}

// NewDelivery returns the delivery state of a new device. observer may be nil.
func NewDelivery[F any](device DeliveryDevice[F], observer DeliveryObserver, cfg DeliveryConfig) (*Delivery[F], error) {
	if device == nil {
		return nil, Errorf(KindInvalid, "delivery: a device is required")
	}
	if cfg.HoldLimit < 0 || cfg.PageSize < 0 || cfg.PageSize > MaxPageLimit {
		return nil, Errorf(KindInvalid, "delivery: config value out of range")
	}
	if cfg.HoldLimit == 0 {
		cfg.HoldLimit = 256
	}
	if cfg.PageSize == 0 {
		cfg.PageSize = MaxPageLimit
	}
	if observer == nil {
		observer = nopObserver{}
	}
	return &Delivery[F]{device: device, observer: observer, holdLimit: cfg.HoldLimit, pageSize: cfg.PageSize, holding: cfg.Hold}, nil
}

// Holding reports whether live messages wait for the first resume.
func (d *Delivery[F]) Holding() bool { return d.holding }

// Live delivers a live message by the rules of the type's doc. A message
// without a conversation or a positive sequence is written as is, untracked.
func (d *Delivery[F]) Live(ctx context.Context, ref MessageRef, frame F) error {
	switch {
	case ref.Sequence <= 0 || ref.ConversationID == "":
		return d.device.WriteLive(frame)
	case d.holding && len(d.held) >= d.holdLimit:
		return ErrHoldOverflow
	case d.holding:
		d.held = append(d.held, heldLive[F]{ref, frame})
		return nil
	}
	return d.deliver(ctx, ref, frame)
}

// EndHold lets the held live messages through the rules, and the following
// ones at once. It does nothing when nothing is held back.
func (d *Delivery[F]) EndHold(ctx context.Context) error {
	if !d.holding {
		return nil
	}
	d.holding = false
	held := d.held
	d.held = nil
	for _, h := range held {
		if err := d.deliver(ctx, h.ref, h.frame); err != nil {
			return err
		}
	}
	return nil
}

// Resume replays, for each conversation in cursors (in id order), the
// messages after its cursor that the device was not sent here, and what
// changed at or below it since it was stored (DeliveryChanges), and then
// ends the hold. A conversation whose history cannot be read is reported to the
// observer and skipped.
func (d *Delivery[F]) Resume(ctx context.Context, cursors map[ConversationID]Sequence) error {
	convs := make([]ConversationID, 0, len(cursors))
	for c := range cursors {
		convs = append(convs, c)
	}
	slices.Sort(convs)
	for _, conv := range convs {
		if err := ctx.Err(); err != nil {
			return err
		}
		err := d.resume(ctx, conv, cursors[conv])
		if err == nil {
			err = d.resumeChanges(ctx, conv, cursors[conv])
		}
		var ferr fetchError
		if errors.As(err, &ferr) {
			err = d.observer.ResumeFailed(conv, ferr.err)
		}
		if err != nil {
			return err
		}
	}
	return d.EndHold(ctx)
}

// record keeps c as the record of conv.
func (d *Delivery[F]) record(conv ConversationID, c *deliveryConv) {
	if d.convs == nil {
		d.convs = make(map[ConversationID]*deliveryConv)
	}
	d.convs[conv] = c
}

func (d *Delivery[F]) deliver(ctx context.Context, ref MessageRef, frame F) error {
	conv, seq := ref.ConversationID, ref.Sequence
	c, known := d.convs[conv]
	if !known {
		c = &deliveryConv{from: seq, highest: seq - 1}
		d.record(conv, c)
	}
	if seq > c.highest+1 {
		err := d.replay(ctx, conv, c, c.highest, seq)
		var ferr fetchError
		if errors.As(err, &ferr) {
			d.observer.FillFailed(conv, c.highest, seq, ferr.err)
		} else if err != nil {
			return err
		}
	}
	sentAs, sent := c.sentID(seq)
	switch {
	case seq < c.from && !sent:
		if seq == c.from-1 {
			c.from = seq
		}
	case seq <= c.highest:
		// Sent here, or below a resume cursor. An id not remembered counts
		// as the same.
		if !sent || ref.ID == "" || sentAs == fingerprint(ref.ID) {
			return nil // a repeat
		}
		d.observer.SequenceReused(conv, seq, ref.ID)
		return d.device.WriteLive(frame)
	default:
		c.highest = seq
	}
	if err := d.device.WriteLive(frame); err != nil {
		return err
	}
	c.remember(seq, ref.ID)
	return nil
}

// resume replays conv after the device's cursor last. A conversation without
// a record gets one only once the cursor is known to stand, so that a failed
// resume leaves live messages to start it.
func (d *Delivery[F]) resume(ctx context.Context, conv ConversationID, last Sequence) error {
	c, known := d.convs[conv]
	if known && last <= c.highest {
		// The cursor is within what was sent here: send what lies between
		// it and the first message sent live (these come after newer
		// ones; devices place messages by sequence), then what is newer.
		if last+1 < c.from {
			if err := d.replay(ctx, conv, c, last, c.from); err != nil {
				return err
			}
		}
		c.from = 1
		return d.replay(ctx, conv, c, c.highest, 0)
	}
	if !known {
		c = &deliveryConv{}
	}
	if last == 0 {
		c.from = 1
		d.record(conv, c)
		return d.replay(ctx, conv, c, 0, 0)
	}
	// The cursor is above what was sent here: the store must hold it. One
	// read from just below the cursor both checks that and starts the replay.
	msgs, more, err := d.history(ctx, conv, last-1)
	if err != nil {
		return err
	}
	if len(msgs) == 0 {
		return d.resync(ctx, conv, c, last)
	}
	c.from, c.highest = 1, max(c.highest, last)
	d.record(conv, c)
	sent, done, err := d.send(c, msgs, last, 0)
	if err != nil || done || !more {
		return err
	}
	return d.replay(ctx, conv, c, sent, 0)
}

// resync answers a cursor that may be ahead of the store. When the store's
// newest message is below it, the device is told to drop what it cached and
// take the store's position as its cursor. The record starts afresh there:
// a later gap is filled from the store's position, and a live message at or
// below it, which the device was not sent since, goes out.
func (d *Delivery[F]) resync(ctx context.Context, conv ConversationID, c *deliveryConv, cursor Sequence) error {
	newest, _, err := d.device.History(ctx, conv, Page{Limit: 1})
	if err != nil {
		return fetchError{err}
	}
	var stored Sequence
	if len(newest) > 0 {
		stored = newest[len(newest)-1].Sequence
	}
	if stored >= cursor { // the store caught up in between: the cursor stands
		c.from, c.highest = 1, max(c.highest, cursor)
		d.record(conv, c)
		return d.replay(ctx, conv, c, cursor, 0)
	}
	*c = deliveryConv{from: stored + 1, highest: stored}
	d.record(conv, c)
	d.observer.CursorAhead(conv, cursor, stored)
	return d.device.WriteEvent(Event{Name: EventResync, Data: ResyncPayload{ConversationID: conv, LastSequenceID: stored}})
}

// fetchError marks a failure to read history, as opposed to one to write to
// the device.
type fetchError struct{ err error }

func (e fetchError) Error() string { return e.err.Error() }

func (d *Delivery[F]) history(ctx context.Context, conv ConversationID, after Sequence) ([]Message, bool, error) {
	msgs, more, err := d.device.History(ctx, conv, PageAfter(after, d.pageSize))
	if err != nil {
		return nil, false, fetchError{err}
	}
	return msgs, more, nil
}

// replay sends conv's stored messages after the sequence after and below
// before (0: up to the newest), page by page.
func (d *Delivery[F]) replay(ctx context.Context, conv ConversationID, c *deliveryConv, after, before Sequence) error {
	for before == 0 || after+1 < before {
		if err := ctx.Err(); err != nil {
			return err
		}
		msgs, more, err := d.history(ctx, conv, after)
		if err != nil {
			return err
		}
		sent, done, err := d.send(c, msgs, after, before)
		if err != nil || done || !more || sent == after {
			return err
		}
		after = sent
	}
	return nil
}

// send writes the messages of one page after the sequence after and below
// before (0: no bound), and returns the last sequence written (after when
// none) and whether before was reached.
func (d *Delivery[F]) send(c *deliveryConv, msgs []Message, after, before Sequence) (Sequence, bool, error) {
	for _, m := range msgs {
		if m.Sequence <= after {
			continue // not after the cursor: a misbehaving store
		}
		if before > 0 && m.Sequence >= before {
			return after, true, nil
		}
		if err := d.device.WriteEvent(NewMessageEvent(m)); err != nil {
			return after, false, err
		}
		after = m.Sequence
		c.highest = max(c.highest, m.Sequence)
		c.remember(m.Sequence, m.ID)
	}
	return after, false, nil
}

// remember records that seq was sent under id.
func (c *deliveryConv) remember(seq Sequence, id MessageID) {
	s := sentID{seq: seq, id: fingerprint(id)}
	if len(c.ids) < deliveryIDs {
		c.ids = append(c.ids, s)
		return
	}
	c.ids[c.next] = s
	c.next = (c.next + 1) % deliveryIDs
}

// sentID returns the fingerprint of the id seq was sent under, if it is
// remembered.
func (c *deliveryConv) sentID(seq Sequence) (uint64, bool) {
	for _, s := range c.ids {
		if s.seq == seq {
			return s.id, true
		}
	}
	return 0, false
}

// fingerprint is the 64-bit FNV-1a hash of id: the ids kept per conversation
// take eight bytes each, and two ids of one sequence collide with odds of one
// in 2^64.
func fingerprint(id MessageID) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(id); i++ {
		h ^= uint64(id[i])
		h *= 1099511628211
	}
	return h
}

type nopObserver struct{}

func (nopObserver) ResumeFailed(ConversationID, error) error             { return nil }
func (nopObserver) FillFailed(ConversationID, Sequence, Sequence, error) {}
func (nopObserver) SequenceReused(ConversationID, Sequence, MessageID)   {}
func (nopObserver) CursorAhead(ConversationID, Sequence, Sequence)       {}
