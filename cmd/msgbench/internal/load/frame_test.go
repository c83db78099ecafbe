package load

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/domain"
)

// frame is what the server writes for ev.
func frame(t *testing.T, ev domain.Event) []byte {
	t.Helper()
	data, err := json.Marshal(ev)
	require.NoError(t, err)
	return data
}

func benchMessage() domain.Message {
	return domain.Message{
		ID:              "0b6a1b8e-6f0e-4d52-9d1e-5f3b1f0c2a11",
		ClientMessageID: "mb.run1.3.41",
		ConversationID:  "11111111-1111-4111-8111-111111111111_22222222-2222-4222-8222-222222222222",
		Sequence:        1234567,
		SenderID:        "11111111-1111-4111-8111-111111111111",
		ReceiverID:      "22222222-2222-4222-8222-222222222222",
		Text:            "msgbench load message 0123456789",
		Type:            domain.MessageText,
		SentAt:          time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC),
	}
}

// The quick path reads what encoding/json reads, for every shape of frame.
func TestDecodeFrameAgreesWithEncodingJSON(t *testing.T) {
	plain := benchMessage()
	tricky := benchMessage()
	tricky.Text = `"clientMessageId":"forged","sequenceId":1,"senderId":"x"`
	nested := benchMessage()
	nested.Metadata = json.RawMessage(`{"senderId":"someone else","sequenceId":7}`)
	escaped := benchMessage()
	escaped.ClientMessageID = `quote"inside`

	cases := map[string][]byte{
		"newMessage":              frame(t, domain.NewMessageEvent(plain)),
		"keys inside the text":    frame(t, domain.NewMessageEvent(tricky)),
		"keys inside metadata":    frame(t, domain.NewMessageEvent(nested)),
		"escaped clientMessageId": frame(t, domain.NewMessageEvent(escaped)),
		"error event":             frame(t, domain.Event{Name: domain.EventError, Data: domain.ErrorPayload{Code: "invalid", Message: "no"}}),
		"registered":              frame(t, domain.Event{Name: "registered", Data: map[string]string{"userId": "u"}}),
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			var want, got inFrame
			require.NoError(t, json.Unmarshal(data, &want))
			require.NoError(t, decodeFrame(data, &got))
			assert.Equal(t, want, got)
		})
	}
}

func TestDecodeFrameTakesTheQuickPathForAPlainMessage(t *testing.T) {
	var f inFrame
	assert.True(t, quickNewMessage(frame(t, domain.NewMessageEvent(benchMessage())), &f))
	assert.Equal(t, int64(1234567), f.Data.SequenceID)
	assert.Equal(t, "mb.run1.3.41", f.Data.ClientMessageID)
}

func TestDecodeFrameRejectsMalformedFrames(t *testing.T) {
	data := frame(t, domain.NewMessageEvent(benchMessage()))
	var f inFrame
	assert.Error(t, decodeFrame(data[:len(data)-1], &f), "truncated")
	assert.Error(t, decodeFrame([]byte(`not json`), &f))
}
