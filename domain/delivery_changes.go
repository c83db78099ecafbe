package domain

import "context"

// DeliveryChanges is an ability of a DeliveryDevice: reading the messages of
// a conversation at or below a sequence that changed (edits, deletions)
// after that sequence was stored. A device that has it gets them from
// Resume, after each conversation's replay, as messageEdited and
// messageDeleted: the changes it may have missed while away, below its
// cursor, where the replay does not reach. Devices keep, of two copies of a
// message, the one with the higher version, so a change they had already
// comes again harmlessly.
type DeliveryChanges interface {
	ChangedMessages(ctx context.Context, conv ConversationID, upTo Sequence) ([]Message, error)
}

// resumeChanges sends what changed in conv at or below cursor, when the
// device can read it.
func (d *Delivery[F]) resumeChanges(ctx context.Context, conv ConversationID, cursor Sequence) error {
	dc, ok := d.device.(DeliveryChanges)
	if !ok || cursor < 1 {
		return nil
	}
	msgs, err := dc.ChangedMessages(ctx, conv, cursor)
	if err != nil {
		return fetchError{err}
	}
	for _, m := range msgs {
		if err := d.device.WriteEvent(ChangeEvent(m)); err != nil {
			return err
		}
	}
	return nil
}
