package websocket

import (
	"encoding/json"

	"github.com/messenger-go/messenger/domain"
)

// frame is one queued item. Frames built by Notify are shared by every socket
// they go to and must not be modified.
type frame struct {
	event string
	ref   domain.MessageRef // set for a sequenced newMessage only
	data  []byte            // the encoded {"event","data"} frame

	// resume, when not nil, is a resume request from the reader, run by the
	// writer; the other fields are unset.
	resume map[domain.ConversationID]domain.Sequence
}

// encodeFrame encodes ev, and for a newMessage extracts its conversation,
// sequence and id, so that writers can order and deduplicate without
// decoding.
func encodeFrame(ev domain.Event) (*frame, error) {
	data, err := json.Marshal(ev)
	if err != nil {
		return nil, domain.Wrap(domain.KindInvalid, err, "event does not encode as JSON")
	}
	f := &frame{event: ev.Name, data: data}
	if ev.Name != domain.EventNewMessage {
		return f, nil
	}
	switch m := ev.Data.(type) {
	case domain.Message:
		f.ref = domain.MessageRef{ConversationID: m.ConversationID, Sequence: m.Sequence, ID: m.ID}
	case *domain.Message:
		if m != nil {
			f.ref = domain.MessageRef{ConversationID: m.ConversationID, Sequence: m.Sequence, ID: m.ID}
		}
	default:
		// Already-encoded data (an event that crossed nodes) or another
		// shape: read the three fields back from what was encoded.
		var head struct {
			Data struct {
				ID             domain.MessageID      `json:"messageId"`
				ConversationID domain.ConversationID `json:"conversationId"`
				Sequence       domain.Sequence       `json:"sequenceId"`
			} `json:"data"`
		}
		if json.Unmarshal(data, &head) == nil {
			f.ref = domain.MessageRef{ConversationID: head.Data.ConversationID, Sequence: head.Data.Sequence, ID: head.Data.ID}
		}
	}
	if f.ref.Sequence <= 0 {
		f.ref = domain.MessageRef{} // unsequenced: passes through untracked
	}
	return f, nil
}
