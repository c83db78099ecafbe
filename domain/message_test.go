package domain_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/domain"
)

var sendTime = time.Date(2026, 3, 4, 5, 6, 7, 8, time.FixedZone("CET", 3600))

func validDraft() domain.Draft {
	return domain.Draft{
		SenderID:        bob,
		ReceiverID:      alice,
		Text:            "hello",
		Type:            "text",
		Metadata:        json.RawMessage(`{"k": "v"}`),
		ClientMessageID: "client-1",
	}
}

func TestNewMessage(t *testing.T) {
	m, err := domain.NewMessage(validDraft(), sendTime)
	require.NoError(t, err)
	assert.Equal(t, domain.DeriveMessageID(bob, "client-1"), m.ID)
	assert.Equal(t, "client-1", m.ClientMessageID)
	assert.Equal(t, domain.ConversationID(string(alice)+"_"+string(bob)), m.ConversationID)
	assert.Equal(t, domain.Sequence(0), m.Sequence, "a new message is not sequenced")
	assert.Equal(t, bob, m.SenderID)
	assert.Equal(t, alice, m.ReceiverID)
	assert.Equal(t, "hello", m.Text)
	assert.Equal(t, domain.MessageText, m.Type)
	assert.JSONEq(t, `{"k":"v"}`, string(m.Metadata))
	assert.Equal(t, `{"k":"v"}`, string(m.Metadata), "metadata is compacted")
	assert.True(t, m.SentAt.Equal(sendTime))
	assert.Equal(t, time.UTC, m.SentAt.Location(), "send time is stored in UTC")
	assert.Nil(t, m.DeliveredAt)
	assert.Nil(t, m.ReadAt)
	require.NoError(t, m.CheckIdentity(), "an accepted message has a consistent identity")
}

func TestNewMessageRejects(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*domain.Draft)
		kind   domain.Kind
	}{
		{"empty text", func(d *domain.Draft) { d.Text = "" }, domain.KindInvalid},
		{"spaces only", func(d *domain.Draft) { d.Text = "   " }, domain.KindInvalid},
		{"mixed whitespace only", func(d *domain.Draft) { d.Text = " \t\r\n\v\f" }, domain.KindInvalid},
		{"unicode whitespace only", func(d *domain.Draft) { d.Text = "\u00a0\u2003\u3000" }, domain.KindInvalid},
		{"one byte too long", func(d *domain.Draft) { d.Text = strings.Repeat("a", domain.MaxMessageBytes+1) }, domain.KindTooLarge},
		{"far too long", func(d *domain.Draft) { d.Text = strings.Repeat("a", 1<<20) }, domain.KindTooLarge},
		{"multibyte text over the byte limit", func(d *domain.Draft) { d.Text = strings.Repeat("é", domain.MaxMessageBytes/2+1) }, domain.KindTooLarge},
		{"invalid UTF-8", func(d *domain.Draft) { d.Text = "hi \xff there" }, domain.KindInvalid},
		{"truncated UTF-8 sequence", func(d *domain.Draft) { d.Text = "caf\xc3" }, domain.KindInvalid},
		{"UTF-8 encoded surrogate", func(d *domain.Draft) { d.Text = "x\xed\xa0\x80" }, domain.KindInvalid},
		{"NUL inside", func(d *domain.Draft) { d.Text = "a\x00b" }, domain.KindInvalid},
		{"NUL only", func(d *domain.Draft) { d.Text = "\x00" }, domain.KindInvalid},
		{"unknown type", func(d *domain.Draft) { d.Type = "video" }, domain.KindInvalid},
		{"type in upper case", func(d *domain.Draft) { d.Type = "TEXT" }, domain.KindInvalid},
		{"type with space", func(d *domain.Draft) { d.Type = "text " }, domain.KindInvalid},
		{"system type is the server's", func(d *domain.Draft) { d.Type = "system" }, domain.KindInvalid},
		{"metadata nested too deep", func(d *domain.Draft) { d.Metadata = nested(domain.MaxMetadataDepth + 1) }, domain.KindInvalid},
		{"metadata nested 2,040 arrays deep", func(d *domain.Draft) {
			d.Metadata = json.RawMessage(`{"a":` + strings.Repeat("[", 2040) + strings.Repeat("]", 2040) + `}`)
		}, domain.KindInvalid},
		{"metadata array", func(d *domain.Draft) { d.Metadata = json.RawMessage(`[1,2]`) }, domain.KindInvalid},
		{"metadata string", func(d *domain.Draft) { d.Metadata = json.RawMessage(`"x"`) }, domain.KindInvalid},
		{"metadata number", func(d *domain.Draft) { d.Metadata = json.RawMessage(`42`) }, domain.KindInvalid},
		{"metadata true", func(d *domain.Draft) { d.Metadata = json.RawMessage(`true`) }, domain.KindInvalid},
		{"metadata malformed", func(d *domain.Draft) { d.Metadata = json.RawMessage(`{"k":`) }, domain.KindInvalid},
		{"metadata object followed by junk", func(d *domain.Draft) { d.Metadata = json.RawMessage(`{} {}`) }, domain.KindInvalid},
		{"metadata with escaped NUL", func(d *domain.Draft) { d.Metadata = json.RawMessage(`{"k":"a\u0000b"}`) }, domain.KindInvalid},
		{"metadata with escaped NUL in a key", func(d *domain.Draft) { d.Metadata = json.RawMessage(`{"\u0000":1}`) }, domain.KindInvalid},
		{"metadata with raw NUL", func(d *domain.Draft) { d.Metadata = json.RawMessage("{\"k\":\"a\x00b\"}") }, domain.KindInvalid},
		{"metadata with invalid UTF-8", func(d *domain.Draft) { d.Metadata = json.RawMessage("{\"k\":\"\xff\"}") }, domain.KindInvalid},
		{"metadata too large", func(d *domain.Draft) {
			d.Metadata = json.RawMessage(`{"k":"` + strings.Repeat("x", domain.MaxMetadataBytes) + `"}`)
		}, domain.KindTooLarge},
		{"client message id too long", func(d *domain.Draft) {
			d.ClientMessageID = strings.Repeat("c", domain.MaxClientMessageIDBytes+1)
		}, domain.KindTooLarge},
		{"client message id with NUL", func(d *domain.Draft) { d.ClientMessageID = "a\x00" }, domain.KindInvalid},
		{"client message id invalid UTF-8", func(d *domain.Draft) { d.ClientMessageID = "\xfe" }, domain.KindInvalid},
		{"sender is receiver", func(d *domain.Draft) { d.ReceiverID = d.SenderID }, domain.KindInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := validDraft()
			tc.modify(&d)
			m, err := domain.NewMessage(d, sendTime)
			requireKind(t, err, tc.kind)
			assert.Zero(t, m)
		})
	}
}

func TestNewMessageAccepts(t *testing.T) {
	tests := []struct {
		name     string
		modify   func(*domain.Draft)
		wantType domain.MessageType
		wantMeta string // "" means nil
	}{
		{"empty type means text", func(d *domain.Draft) { d.Type = "" }, domain.MessageText, `{"k":"v"}`},
		{"image", func(d *domain.Draft) { d.Type = "image" }, domain.MessageImage, `{"k":"v"}`},
		{"file", func(d *domain.Draft) { d.Type = "file" }, domain.MessageFile, `{"k":"v"}`},
		{"metadata at the depth limit", func(d *domain.Draft) { d.Metadata = nested(domain.MaxMetadataDepth) }, domain.MessageText, string(nested(domain.MaxMetadataDepth))},
		{"brackets in strings do not nest", func(d *domain.Draft) {
			d.Metadata = json.RawMessage(`{"a":"` + strings.Repeat("[{", 100) + `"}`)
		}, domain.MessageText, `{"a":"` + strings.Repeat("[{", 100) + `"}`},
		{"exactly the byte limit", func(d *domain.Draft) { d.Text = strings.Repeat("a", domain.MaxMessageBytes) }, domain.MessageText, `{"k":"v"}`},
		{"text with surrounding space is kept", func(d *domain.Draft) { d.Text = "  hi  " }, domain.MessageText, `{"k":"v"}`},
		{"emoji and other scripts", func(d *domain.Draft) { d.Text = "héllo 👋 مرحبا 你好" }, domain.MessageText, `{"k":"v"}`},
		{"absent metadata", func(d *domain.Draft) { d.Metadata = nil }, domain.MessageText, ""},
		{"empty metadata", func(d *domain.Draft) { d.Metadata = json.RawMessage{} }, domain.MessageText, ""},
		{"blank metadata", func(d *domain.Draft) { d.Metadata = json.RawMessage(" \n ") }, domain.MessageText, ""},
		{"null metadata", func(d *domain.Draft) { d.Metadata = json.RawMessage(`null`) }, domain.MessageText, ""},
		{"null metadata with space", func(d *domain.Draft) { d.Metadata = json.RawMessage(` null `) }, domain.MessageText, ""},
		{"empty object", func(d *domain.Draft) { d.Metadata = json.RawMessage(`{}`) }, domain.MessageText, `{}`},
		{"nested object is compacted", func(d *domain.Draft) {
			d.Metadata = json.RawMessage("{ \"a\" : [ 1, 2 ],\n \"b\": {\"c\": null} }")
		}, domain.MessageText, `{"a":[1,2],"b":{"c":null}}`},
		{"escaped non-NUL control character", func(d *domain.Draft) { d.Metadata = json.RawMessage(`{"k":"\u0001"}`) }, domain.MessageText, `{"k":"\u0001"}`},
		{"metadata at the size limit", func(d *domain.Draft) {
			d.Metadata = json.RawMessage(`{"k":"` + strings.Repeat("x", domain.MaxMetadataBytes-8) + `"}`)
		}, domain.MessageText, `{"k":"` + strings.Repeat("x", domain.MaxMetadataBytes-8) + `"}`},
		{"client message id at the limit", func(d *domain.Draft) {
			d.ClientMessageID = strings.Repeat("c", domain.MaxClientMessageIDBytes)
		}, domain.MessageText, `{"k":"v"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := validDraft()
			tc.modify(&d)
			m, err := domain.NewMessage(d, sendTime)
			require.NoError(t, err)
			assert.Equal(t, tc.wantType, m.Type)
			assert.Equal(t, d.Text, m.Text)
			if tc.wantMeta == "" {
				assert.Nil(t, m.Metadata)
			} else {
				assert.Equal(t, tc.wantMeta, string(m.Metadata))
			}
			require.NoError(t, m.CheckIdentity())
		})
	}
}

// nested returns a metadata object nesting arrays and objects in turn depth
// deep, the top object included.
func nested(depth int) json.RawMessage {
	var open, close string
	for i := 0; i < depth; i++ {
		if i%2 == 0 {
			open, close = open+`{"k":`, "}"+close
		} else {
			open, close = open+"[", "]"+close
		}
	}
	return json.RawMessage(open + "1" + close)
}

func TestNewSystemMessage(t *testing.T) {
	d := validDraft()
	d.Type = "text"
	m, err := domain.NewSystemMessage(d, sendTime)
	require.NoError(t, err)
	assert.Equal(t, domain.MessageSystem, m.Type, "the server's messages are system messages whatever the draft says")
	require.NoError(t, m.CheckIdentity())

	d.Text = " "
	_, err = domain.NewSystemMessage(d, sendTime)
	requireKind(t, err, domain.KindInvalid)
	d = validDraft()
	d.Metadata = nested(domain.MaxMetadataDepth + 1)
	_, err = domain.NewSystemMessage(d, sendTime)
	requireKind(t, err, domain.KindInvalid)
}

func TestNewMessageGeneratesClientMessageID(t *testing.T) {
	d := validDraft()
	d.ClientMessageID = ""
	m1, err := domain.NewMessage(d, sendTime)
	require.NoError(t, err)
	m2, err := domain.NewMessage(d, sendTime)
	require.NoError(t, err)

	assert.Regexp(t, uuidV4, m1.ClientMessageID)
	assert.NotEqual(t, m1.ClientMessageID, m2.ClientMessageID, "each send without a key gets its own")
	assert.NotEqual(t, m1.ID, m2.ID)
	assert.Equal(t, domain.DeriveMessageID(d.SenderID, m1.ClientMessageID), m1.ID)
	require.NoError(t, m1.CheckIdentity())
}

func TestNewMessageIsIdempotentPerClientMessageID(t *testing.T) {
	d := validDraft()
	m1, err := domain.NewMessage(d, sendTime)
	require.NoError(t, err)
	d.Text = "retried with other text"
	m2, err := domain.NewMessage(d, sendTime.Add(time.Minute))
	require.NoError(t, err)
	assert.Equal(t, m1.ID, m2.ID, "a retry with the same key has the same id")

	d.SenderID, d.ReceiverID = d.ReceiverID, d.SenderID
	m3, err := domain.NewMessage(d, sendTime)
	require.NoError(t, err)
	assert.NotEqual(t, m1.ID, m3.ID, "the same key from another sender is another message")
	assert.Equal(t, m1.ConversationID, m3.ConversationID, "both directions share the conversation")
}

func TestMessageCheckIdentity(t *testing.T) {
	valid, err := domain.NewMessage(validDraft(), sendTime)
	require.NoError(t, err)
	require.NoError(t, valid.CheckIdentity())

	tests := []struct {
		name   string
		modify func(*domain.Message)
		ok     bool
	}{
		{"sequenced message", func(m *domain.Message) { m.Sequence = 7 }, true},
		{"delivered and read message", func(m *domain.Message) {
			at := sendTime.Add(time.Second)
			m.DeliveredAt, m.ReadAt = &at, &at
		}, true},
		// Content was checked by NewMessage before the message was published.
		{"content is not checked again", func(m *domain.Message) {
			m.Text, m.Type, m.Metadata = " ", "audio", json.RawMessage(`[]`)
		}, true},
		{"invalid sender", func(m *domain.Message) { m.SenderID = "bob" }, false},
		{"empty sender", func(m *domain.Message) { m.SenderID = "" }, false},
		{"sender not in canonical form", func(m *domain.Message) { m.SenderID = "0F8FAD5B-D9CB-469F-A165-70867728950E" }, false},
		{"invalid receiver", func(m *domain.Message) { m.ReceiverID = "alice" }, false},
		{"sender is receiver", func(m *domain.Message) { m.ReceiverID = m.SenderID }, false},
		{"empty client message id", func(m *domain.Message) { m.ClientMessageID = "" }, false},
		{"conversation of other users", func(m *domain.Message) {
			m.ConversationID, _ = domain.NewConversationID(alice, carol)
		}, false},
		{"conversation id not canonical", func(m *domain.Message) {
			m.ConversationID = domain.ConversationID(string(bob) + "_" + string(alice))
		}, false},
		{"empty conversation id", func(m *domain.Message) { m.ConversationID = "" }, false},
		{"id of another client message id", func(m *domain.Message) { m.ID = domain.DeriveMessageID(m.SenderID, "other") }, false},
		{"id of the receiver", func(m *domain.Message) { m.ID = domain.DeriveMessageID(m.ReceiverID, m.ClientMessageID) }, false},
		{"client message id changed", func(m *domain.Message) { m.ClientMessageID = "client-2" }, false},
		{"random id", func(m *domain.Message) { m.ID = domain.MessageID(domain.NewUUID()) }, false},
		{"empty id", func(m *domain.Message) { m.ID = "" }, false},
		{"sender and receiver swapped", func(m *domain.Message) { m.SenderID, m.ReceiverID = m.ReceiverID, m.SenderID }, false},
		{"zero timestamp", func(m *domain.Message) { m.SentAt = time.Time{} }, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := valid
			tc.modify(&m)
			err := m.CheckIdentity()
			if tc.ok {
				require.NoError(t, err)
				return
			}
			requireKind(t, err, domain.KindInvalid)
		})
	}
}

func TestRestoreMessage(t *testing.T) {
	sent, err := domain.NewMessage(validDraft(), sendTime)
	require.NoError(t, err)
	elsewhere := time.FixedZone("X", -5*3600)
	delivered := sendTime.Add(time.Minute).In(elsewhere)

	kept := sent
	kept.Sequence = 4
	kept.SentAt = sent.SentAt.In(elsewhere)
	kept.DeliveredAt = &delivered
	kept.Metadata = json.RawMessage{}
	got := domain.RestoreMessage(kept)

	want := sent
	want.Sequence = 4
	want.Metadata = nil
	want.DeliveredAt = &delivered
	assert.Equal(t, want.ID, got.ID)
	assert.Equal(t, want.Sequence, got.Sequence)
	assert.Equal(t, want.Text, got.Text)
	assert.Nil(t, got.Metadata, "empty metadata is none, as NewMessage gives it")
	assert.Equal(t, time.UTC, got.SentAt.Location())
	assert.True(t, sent.SentAt.Equal(got.SentAt))
	require.NotNil(t, got.DeliveredAt)
	assert.Equal(t, time.UTC, got.DeliveredAt.Location())
	assert.True(t, delivered.Equal(*got.DeliveredAt))
	assert.Equal(t, elsewhere, delivered.Location(), "the kept time is not modified")
	assert.Nil(t, got.ReadAt)

	kept.Text = "  " // trusted: a store gives back what it kept
	assert.Equal(t, "  ", domain.RestoreMessage(kept).Text)
}

func TestParseMessageType(t *testing.T) {
	tests := []struct {
		in   string
		want domain.MessageType // "" means rejected
	}{
		{"", domain.MessageText},
		{"text", domain.MessageText},
		{"image", domain.MessageImage},
		{"file", domain.MessageFile},
		{"system", domain.MessageSystem}, // a stored type; NewMessage refuses it from clients
		{"Text", ""},
		{"video", ""},
		{" text", ""},
		{"text\x00", ""},
	}
	for _, tc := range tests {
		t.Run("type "+tc.in, func(t *testing.T) {
			got, err := domain.ParseMessageType(tc.in)
			if tc.want == "" {
				requireKind(t, err, domain.KindInvalid)
				assert.Empty(t, got)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestValidateString(t *testing.T) {
	tests := []struct {
		name string
		in   string
		max  int
		kind domain.Kind // KindInternal means valid
	}{
		{"empty is allowed", "", 3, domain.KindInternal},
		{"at the limit", "abc", 3, domain.KindInternal},
		{"limit counts bytes", "é", 2, domain.KindInternal},
		{"over the limit", "abcd", 3, domain.KindTooLarge},
		{"multibyte over the limit", "éé", 3, domain.KindTooLarge},
		{"invalid UTF-8", "\x80", 3, domain.KindInvalid},
		{"NUL", "a\x00", 3, domain.KindInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := domain.ValidateString("field", tc.in, tc.max)
			if tc.kind == domain.KindInternal {
				require.NoError(t, err)
				return
			}
			requireKind(t, err, tc.kind)
			assert.Contains(t, domain.MessageOf(err), "field", "the message names the field")
		})
	}
}

func TestValidateClientMessageID(t *testing.T) {
	tests := []struct {
		name string
		in   string
		kind domain.Kind // KindInternal means valid
	}{
		{"uuid", domain.NewUUID(), domain.KindInternal},
		{"free text", "my key 1", domain.KindInternal},
		{"at the limit", strings.Repeat("k", domain.MaxClientMessageIDBytes), domain.KindInternal},
		{"empty", "", domain.KindInvalid},
		{"over the limit", strings.Repeat("k", domain.MaxClientMessageIDBytes+1), domain.KindTooLarge},
		{"NUL", "\x00", domain.KindInvalid},
		{"invalid UTF-8", "\xff", domain.KindInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := domain.ValidateClientMessageID(tc.in)
			if tc.kind == domain.KindInternal {
				require.NoError(t, err)
				return
			}
			requireKind(t, err, tc.kind)
		})
	}
}

func TestValidateText(t *testing.T) {
	require.NoError(t, domain.ValidateText("x"))
	requireKind(t, domain.ValidateText(""), domain.KindInvalid)
	requireKind(t, domain.ValidateText("\t"), domain.KindInvalid)
	requireKind(t, domain.ValidateText(strings.Repeat("x", domain.MaxMessageBytes+1)), domain.KindTooLarge)
	require.True(t, utf8.ValidString("✓"))
	require.NoError(t, domain.ValidateText("✓"))
}

func TestValidateMetadata(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string      // compacted result; "" means nil
		kind domain.Kind // KindInternal means valid
	}{
		{"absent", "", "", domain.KindInternal},
		{"null", "null", "", domain.KindInternal},
		{"padded null", "\t null \n", "", domain.KindInternal},
		{"empty object", "{}", "{}", domain.KindInternal},
		{"padded object", "  { \"a\" : 1 }  ", `{"a":1}`, domain.KindInternal},
		{"unicode is kept", `{"a":"é✓"}`, `{"a":"é✓"}`, domain.KindInternal},
		{"escaped unicode is kept", `{"a":"\u00e9"}`, `{"a":"\u00e9"}`, domain.KindInternal},
		{"escaped backslash before u0000 text", `{"a":"\\u0000"}`, `{"a":"\\u0000"}`, domain.KindInternal}, // the text \u0000, not a NUL
		{"NUL escape after an escaped backslash", `{"a":"\\\u0000"}`, "", domain.KindInvalid},
		{"surrogate pair is kept", `{"a":"\ud83d\ude00"}`, `{"a":"\ud83d\ude00"}`, domain.KindInternal},
		{"large but storable number", `{"a":1e100}`, `{"a":1e100}`, domain.KindInternal},
		{"exponent at the bound", `{"a":1e1000,"b":-2.5E-1000}`, `{"a":1e1000,"b":-2.5E-1000}`, domain.KindInternal},
		{"exponent with leading zeros", `{"a":1e+0001000}`, `{"a":1e+0001000}`, domain.KindInternal},
		{"exponent over the bound", `{"a":1e1001}`, "", domain.KindInvalid},
		{"negative exponent over the bound", `{"a":[1,{"b":1E-1001}]}`, "", domain.KindInvalid},
		{"long exponent", `{"a":0e99999999999999999999}`, "", domain.KindInvalid},
		{"literals with e are not numbers", `{"a":true,"b":false,"e":"1e9999"}`, `{"a":true,"b":false,"e":"1e9999"}`, domain.KindInternal},
		{"array", "[]", "", domain.KindInvalid},
		{"nested null only", `{"a":null}`, `{"a":null}`, domain.KindInternal},
		{"NULL in capitals", "NULL", "", domain.KindInvalid},
		{"string", `"{}"`, "", domain.KindInvalid},
		{"truncated", `{"a":1`, "", domain.KindInvalid},
		{"trailing comma", `{"a":1,}`, "", domain.KindInvalid},
		{"single quotes", `{'a':1}`, "", domain.KindInvalid},
		{"two objects", `{}{}`, "", domain.KindInvalid},
		{"escaped NUL", `{"a":"\u0000"}`, "", domain.KindInvalid},
		{"raw NUL", "{\"a\":\"\x00\"}", "", domain.KindInvalid},
		{"NUL outside strings", "{\x00}", "", domain.KindInvalid},
		{"invalid UTF-8", "{\"a\":\"\xc3\"}", "", domain.KindInvalid},
		{"too large", `{"a":"` + strings.Repeat("x", domain.MaxMetadataBytes) + `"}`, "", domain.KindTooLarge},
		{"too large before compaction", "{" + strings.Repeat(" ", domain.MaxMetadataBytes) + "}", "", domain.KindTooLarge},
		{"objects at the depth limit", strings.Repeat(`{"a":`, domain.MaxMetadataDepth) + "1" + strings.Repeat("}", domain.MaxMetadataDepth),
			strings.Repeat(`{"a":`, domain.MaxMetadataDepth) + "1" + strings.Repeat("}", domain.MaxMetadataDepth), domain.KindInternal},
		{"objects past the depth limit", strings.Repeat(`{"a":`, domain.MaxMetadataDepth+1) + "1" + strings.Repeat("}", domain.MaxMetadataDepth+1), "", domain.KindInvalid},
		{"arrays past the depth limit", `{"a":` + strings.Repeat("[", domain.MaxMetadataDepth) + strings.Repeat("]", domain.MaxMetadataDepth) + "}", "", domain.KindInvalid},
		{"siblings do not add up", `{"a":[` + strings.Repeat("[[[]]],", 40) + `[]]}`, `{"a":[` + strings.Repeat("[[[]]],", 40) + `[]]}`, domain.KindInternal},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := domain.ValidateMetadata(json.RawMessage(tc.in))
			if tc.kind != domain.KindInternal {
				requireKind(t, err, tc.kind)
				assert.Nil(t, got)
				return
			}
			require.NoError(t, err)
			if tc.want == "" {
				assert.Nil(t, got)
				return
			}
			assert.Equal(t, tc.want, string(got))
			assert.True(t, json.Valid(got))
		})
	}
}

func TestMessageJSON(t *testing.T) {
	m, err := domain.NewMessage(validDraft(), sendTime)
	require.NoError(t, err)
	m.Sequence = 3
	delivered := time.Date(2026, 3, 4, 5, 7, 0, 0, time.UTC)
	m.DeliveredAt = &delivered

	raw, err := json.Marshal(m)
	require.NoError(t, err)

	var fields map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(raw, &fields))
	assert.ElementsMatch(t, []string{
		"messageId", "clientMessageId", "conversationId", "sequenceId", "senderId", "receiverId",
		"message", "messageType", "metadata", "timestamp", "deliveredAt", "readAt",
		"version", // the second part: editedAt and deletedAt come once set
	}, keys(fields), "wire names of DESIGN.md section 6")
	assert.JSONEq(t, `1`, string(fields["version"]), "a message as sent is version 1")

	assert.JSONEq(t, `"`+string(m.ID)+`"`, string(fields["messageId"]))
	assert.JSONEq(t, `"client-1"`, string(fields["clientMessageId"]))
	assert.JSONEq(t, `"`+string(m.ConversationID)+`"`, string(fields["conversationId"]))
	assert.JSONEq(t, `3`, string(fields["sequenceId"]))
	assert.JSONEq(t, `"`+string(bob)+`"`, string(fields["senderId"]))
	assert.JSONEq(t, `"`+string(alice)+`"`, string(fields["receiverId"]))
	assert.JSONEq(t, `"hello"`, string(fields["message"]))
	assert.JSONEq(t, `"text"`, string(fields["messageType"]))
	assert.JSONEq(t, `{"k":"v"}`, string(fields["metadata"]), "metadata is embedded as JSON, not as a string")
	assert.JSONEq(t, `"2026-03-04T04:06:07.000000008Z"`, string(fields["timestamp"]), "RFC 3339 in UTC")
	assert.JSONEq(t, `"2026-03-04T05:07:00Z"`, string(fields["deliveredAt"]))
	assert.JSONEq(t, `null`, string(fields["readAt"]))

	var back domain.Message
	require.NoError(t, json.Unmarshal(raw, &back))
	require.NoError(t, back.CheckIdentity(), "a message survives a JSON round trip")
	assert.Equal(t, m.ID, back.ID)
	assert.Equal(t, m.Sequence, back.Sequence)
	assert.True(t, m.SentAt.Equal(back.SentAt))
	require.NotNil(t, back.DeliveredAt)
	assert.True(t, delivered.Equal(*back.DeliveredAt))
	assert.Nil(t, back.ReadAt)
}

func TestMessageJSONWithoutMetadata(t *testing.T) {
	d := validDraft()
	d.Metadata = nil
	m, err := domain.NewMessage(d, sendTime)
	require.NoError(t, err)
	raw, err := json.Marshal(m)
	require.NoError(t, err)
	var fields map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(raw, &fields))
	assert.JSONEq(t, `null`, string(fields["metadata"]))

	var back domain.Message
	require.NoError(t, json.Unmarshal(raw, &back))
	require.NoError(t, back.CheckIdentity())
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestValidateMetadataKeepsSurrogatePairs(t *testing.T) {
	got, err := domain.ValidateMetadata(json.RawMessage(`{"a":"\ud83d\ude00","b":1e300}`))
	require.NoError(t, err, "a proper pair (😀) and a large but storable number are fine")
	assert.Equal(t, `{"a":"\ud83d\ude00","b":1e300}`, string(got))
}
