package load

import (
	"bytes"
	"encoding/json"
	"strconv"
)

// inFrame is the part of a server frame the generator reads.
type inFrame struct {
	Event string `json:"event"`
	Data  struct {
		ClientMessageID string `json:"clientMessageId"`
		SequenceID      int64  `json:"sequenceId"`
		SenderID        string `json:"senderId"`
		Code            string `json:"code"`
	} `json:"data"`
}

// decodeFrame fills f from a server frame. The generator reads two frames per
// message, and decoding each whole with encoding/json (the message text, the
// timestamps) cost it a seventh of its CPU, which the server it measures then
// lacks. So a newMessage frame in the server's compact encoding/json form is
// read by looking up the three keys it needs; anything else is decoded in full.
func decodeFrame(data []byte, f *inFrame) error {
	if quickNewMessage(data, f) {
		return nil
	}
	*f = inFrame{}
	return json.Unmarshal(data, f)
}

// quickNewMessage reads a newMessage frame's clientMessageId, sequenceId and
// senderId, when each key occurs once and its value is a plain string or
// number. A quoted key followed by a colon cannot occur inside a string value
// (its quotes would be escaped), so a single occurrence is the key itself.
func quickNewMessage(data []byte, f *inFrame) bool {
	ev, ok := onlyString(data, `"event":`)
	if !ok || ev != "newMessage" || !json.Valid(data) {
		return false
	}
	cid, ok1 := onlyString(data, `"clientMessageId":`)
	sender, ok2 := onlyString(data, `"senderId":`)
	seq, ok3 := onlyValue(data, `"sequenceId":`)
	if !ok1 || !ok2 || !ok3 {
		return false
	}
	end := bytes.IndexAny(seq, ",}")
	if end < 0 {
		return false
	}
	n, err := strconv.ParseInt(string(seq[:end]), 10, 64)
	if err != nil {
		return false
	}
	*f = inFrame{Event: ev}
	f.Data.ClientMessageID, f.Data.SenderID, f.Data.SequenceID = cid, sender, n
	return true
}

// onlyValue returns what follows key in data when key occurs exactly once.
func onlyValue(data []byte, key string) ([]byte, bool) {
	i := bytes.Index(data, []byte(key))
	if i < 0 {
		return nil, false
	}
	rest := data[i+len(key):]
	if bytes.Contains(rest, []byte(key)) {
		return nil, false
	}
	return rest, true
}

// onlyString returns the string value of key when key occurs exactly once
// and its value has no escapes.
func onlyString(data []byte, key string) (string, bool) {
	v, ok := onlyValue(data, key)
	if !ok || len(v) == 0 || v[0] != '"' {
		return "", false
	}
	end := bytes.IndexByte(v[1:], '"')
	if end < 0 || bytes.IndexByte(v[1:1+end], '\\') >= 0 {
		return "", false
	}
	return string(v[1 : 1+end]), true
}
