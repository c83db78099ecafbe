package postgres_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/adapters/postgres"
	"github.com/messenger-go/messenger/domain"
)

// A batch holding a message the chats table cannot keep fails whole with
// KindInvalid, whether the store or the database finds it, so the consumer
// sets that record aside and the rest of its batch flows.
func TestAppendBatchRefusesWhatPostgreSQLCannotKeep(t *testing.T) {
	s := newStore(t)
	cases := []struct {
		name  string
		spoil func(m *domain.Message)
	}{
		{"text with NUL", func(m *domain.Message) { m.Text = "bad\x00text" }},
		{"text not UTF-8", func(m *domain.Message) { m.Text = "bad \xff text" }},
		{"clientMessageId with NUL", func(m *domain.Message) { m.ClientMessageID = "c\x00" }},
		{"clientMessageId longer than its column", func(m *domain.Message) { m.ClientMessageID = strings.Repeat("é", 129) }},
		{"sender not a UUID", func(m *domain.Message) { m.SenderID = "bob" }},
		{"unknown type, refused by the table's constraint", func(m *domain.Message) { m.Type = "video" }},
		{"type longer than its column", func(m *domain.Message) { m.Type = domain.MessageType(strings.Repeat("t", 17)) }},
		{"metadata with NUL", func(m *domain.Message) { m.Metadata = json.RawMessage(`{"k":"a\u0000b"}`) }},
		{"metadata with an unpaired surrogate, refused by the database", func(m *domain.Message) { m.Metadata = json.RawMessage(`{"k":"\ud800"}`) }},
		{"metadata with a number beyond numeric", func(m *domain.Message) { m.Metadata = json.RawMessage(`{"k":1e-16384}`) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			us := createUsers(t, s, 2)
			good := newMessage(t, us[0], us[1], "good")
			bad := newMessage(t, us[1], us[0], "will be spoiled")
			tc.spoil(&bad)
			_, err := s.AppendBatch(t.Context(), appends(0, 0, good, bad))
			require.Error(t, err)
			assert.Equal(t, domain.KindInvalid, domain.KindOf(err), "error %v", err)
			conv := conversationOf(t, us[0], us[1])
			assert.Empty(t, storedSequences(t, s, conv), "nothing of the batch is stored")

			got, err := s.AppendBatch(t.Context(), appends(0, 0, good))
			require.NoError(t, err)
			assert.Equal(t, domain.Sequence(1), got[0].Message.Sequence, "the failed batch consumed no sequence")
		})
	}
}

// jsonb stores numbers as numeric: at most 131072 digits before the decimal
// point, a display scale (digits after the point, trailing zeros included,
// minus the exponent) of at most 16383 even for zero, and an exponent below
// 2^30-1 in magnitude even for zero. Each row is checked against the database
// as well as against checkJSONB.
func TestCheckJSONBNumbersMatchPostgreSQL(t *testing.T) {
	s := newStore(t)
	tests := []struct {
		num    string
		stored bool
	}{
		{"0", true},
		{"-0.0", true},
		{"1E5", true},
		{"1e131071", true},
		{"1e131072", false},
		{"10e131070", true},
		{"10e131071", false},
		{"12345678901234567890e131052", true},
		{"12345678901234567890e131053", false},
		{"0.001e131074", true},
		{"0.001e131075", false},
		{"1e-16383", true},
		{"-1e-16383", true},
		{"1e-16384", false},
		{"1.5e-16383", false},
		{"0.1e-16382", true},
		{"0.1e-16383", false},
		{"1.000e-16380", true},
		{"1.0000e-16380", false},
		{"100e-16385", false},
		{"1e+0000000001", true},
		{"1e-0000000001", true},
		{"1e00000000000000000000001", true},
		{"1e-000016383", true},
		{"1e-000016384", false},
		{"0e0", true},
		{"0e-16383", true},
		{"0e-16384", false},
		{"-0e-16384", false},
		{"0.0e-16383", false},
		{"0.0e-16384", false},
		{"0e-99999999", false},
		{"0e99999999", true},
		{"0e1073741822", true},
		{"0e1073741823", false},
		{"0e-1073741823", false},
		{"0e2000000000", false},
		{"0e-2000000000", false},
	}
	for _, tc := range tests {
		t.Run(tc.num, func(t *testing.T) {
			meta := `{"a":` + tc.num + `}`
			var kept string
			dbErr := s.Pool().QueryRow(t.Context(), `SELECT $1::jsonb::text`, meta).Scan(&kept)
			assert.Equal(t, tc.stored, dbErr == nil, "the database's answer: %v", dbErr)

			err := postgres.CheckJSONB(json.RawMessage(meta))
			if tc.stored {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Equal(t, domain.KindInvalid, domain.KindOf(err))
		})
	}
}

func TestCheckJSONB(t *testing.T) {
	tests := []struct {
		name, meta string
		ok         bool
	}{
		{"none", ``, true},
		{"plain object", `{"a":[1,"x",{"b":null}],"c":true}`, true},
		{"escaped backslash before u0000 text", `{"a":"\\u0000"}`, true},
		{"NUL in a value", `{"a":"x\u0000"}`, false},
		{"NUL in a key", `{"\u0000":1}`, false},
		{"NUL in a nested array", `{"a":[1,["\u0000"]]}`, false},
		{"number out of range in an array", `{"a":[1,1e-20000]}`, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := postgres.CheckJSONB(json.RawMessage(tc.meta))
			if tc.ok {
				assert.NoError(t, err)
				return
			}
			assert.Equal(t, domain.KindInvalid, domain.KindOf(err), "error %v", err)
		})
	}
}
