package realtime

import (
	"encoding/json"
	"time"

	"github.com/messenger-go/messenger/domain"
)

// Frame is one queued item. Frames built by Notify are shared by every socket
// they go to, of every transport, and must not be modified.
type Frame struct {
	event string
	ref   domain.MessageRef // set for a sequenced newMessage only
	sent  time.Time         // the message's send time; a sequenced newMessage only
	// data is the encoded {"event":NAME,"data":DATA} of an event, with DATA
	// starting at split; or, for a transport's own frame (split 0), the bytes
	// the transport made.
	data  []byte
	split int

	// resume, when not nil, is a resume request from the reader, run by the
	// writer; the other fields are unset.
	resume map[domain.ConversationID]domain.Sequence
}

// The parts of an encoded event around its name and data.
const (
	envelopeHead = `{"event":`
	envelopeMid  = `,"data":`
)

// NewFrame encodes ev, and for a newMessage extracts its conversation,
// sequence and id, so that writers can order and deduplicate without
// decoding. Errors: KindInvalid when ev does not encode as JSON.
func NewFrame(ev domain.Event) (*Frame, error) {
	name, err := json.Marshal(ev.Name)
	if err != nil {
		return nil, domain.Wrap(domain.KindInvalid, err, "event does not encode as JSON")
	}
	payload, err := json.Marshal(ev.Data)
	if err != nil {
		return nil, domain.Wrap(domain.KindInvalid, err, "event does not encode as JSON")
	}
	data := make([]byte, 0, len(envelopeHead)+len(name)+len(envelopeMid)+len(payload)+1)
	data = append(append(append(data, envelopeHead...), name...), envelopeMid...)
	split := len(data)
	data = append(append(data, payload...), '}')
	f := &Frame{event: ev.Name, data: data, split: split}
	if ev.Name != domain.EventNewMessage {
		return f, nil
	}
	switch m := ev.Data.(type) {
	case domain.Message:
		f.ref, f.sent = domain.MessageRef{ConversationID: m.ConversationID, Sequence: m.Sequence, ID: m.ID}, m.SentAt
	case *domain.Message:
		if m != nil {
			f.ref, f.sent = domain.MessageRef{ConversationID: m.ConversationID, Sequence: m.Sequence, ID: m.ID}, m.SentAt
		}
	default:
		// Already-encoded data (an event that crossed nodes) or another
		// shape: read the three fields back from what was encoded.
		var head struct {
			ID             domain.MessageID      `json:"messageId"`
			ConversationID domain.ConversationID `json:"conversationId"`
			Sequence       domain.Sequence       `json:"sequenceId"`
			SentAt         time.Time             `json:"timestamp"`
		}
		if json.Unmarshal(payload, &head) == nil {
			f.ref, f.sent = domain.MessageRef{ConversationID: head.ConversationID, Sequence: head.Sequence, ID: head.ID}, head.SentAt
		}
	}
	if f.ref.Sequence <= 0 {
		f.ref = domain.MessageRef{} // unsequenced: passes through untracked
	}
	return f, nil
}

// OwnFrame is a frame of the transport's own making (a Socket.IO
// acknowledgement, say), queued in order with the events and written by the
// transport as it is.
func OwnFrame(b []byte) *Frame { return &Frame{data: b} }

// Event is the name of the event the frame carries; "" for a transport's own
// frame.
func (f *Frame) Event() string { return f.event }

// JSON is the event as the wire contract's envelope,
// {"event": name, "data": data}; or the bytes of a transport's own frame.
func (f *Frame) JSON() []byte { return f.data }

// Name is the event's name as a JSON string; nil for a transport's own frame.
func (f *Frame) Name() []byte {
	if f.split == 0 {
		return nil
	}
	return f.data[len(envelopeHead) : f.split-len(envelopeMid)]
}

// Data is the event's data as JSON; nil for a transport's own frame.
func (f *Frame) Data() []byte {
	if f.split == 0 {
		return nil
	}
	return f.data[f.split : len(f.data)-1]
}
