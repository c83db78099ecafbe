package socketio

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/domain"
)

func TestParseIOPacket(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want ioPacket
	}{
		{"connect", `0`, ioPacket{kind: '0', ack: -1, data: []byte{}}},
		{"connect with auth", `0{"token":"t"}`, ioPacket{kind: '0', ack: -1, data: []byte(`{"token":"t"}`)}},
		{"connect to the default namespace, spelled out", `0/,{"token":"t"}`, ioPacket{kind: '0', ack: -1, data: []byte(`{"token":"t"}`)}},
		{"connect to another namespace", `0/admin,{}`, ioPacket{kind: '0', namespace: "/admin", ack: -1, data: []byte(`{}`)}},
		{"another namespace without data", `1/admin`, ioPacket{kind: '1', namespace: "/admin", ack: -1}},
		{"event", `2["typing",{}]`, ioPacket{kind: '2', ack: -1, data: []byte(`["typing",{}]`)}},
		{"event with an ack id", `212["send",{}]`, ioPacket{kind: '2', ack: 12, data: []byte(`["send",{}]`)}},
		{"namespace and ack id", `2/chat,7["x"]`, ioPacket{kind: '2', namespace: "/chat", ack: 7, data: []byte(`["x"]`)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseIOPacket([]byte(tt.in))
			require.NoError(t, err)
			if len(tt.want.data) == 0 {
				assert.Empty(t, got.data)
				got.data, tt.want.data = nil, nil
			}
			assert.Equal(t, tt.want, got)
		})
	}
	for name, in := range map[string]string{
		"empty":            ``,
		"invalid UTF-8":    "2[\"\xff\"]",
		"ack id too large": `21234567890["x"]`,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := parseIOPacket([]byte(in))
			require.Error(t, err)
			assert.Equal(t, domain.KindInvalid, domain.KindOf(err))
		})
	}
}

func TestParseEvent(t *testing.T) {
	name, data, err := parseEvent([]byte(`["send",{"a":1},"extra"]`))
	require.NoError(t, err)
	assert.Equal(t, "send", name)
	assert.JSONEq(t, `{"a":1}`, string(data))
	name, data, err = parseEvent([]byte(`["resume"]`))
	require.NoError(t, err)
	assert.Equal(t, "resume", name)
	assert.Nil(t, data)
	for _, in := range []string{`{}`, `[]`, `[""]`, `[1,{}]`, `["x"`} {
		_, _, err := parseEvent([]byte(in))
		assert.Error(t, err, in)
	}
}

func TestAppendAckAndConnectError(t *testing.T) {
	assert.Equal(t, `437[]`, string(appendAck(nil, 7)))
	assert.Equal(t, `4312[{"a":1},2]`, string(appendAck(nil, 12, []byte(`{"a":1}`), []byte(`2`))))
	assert.Equal(t, `44{"message":"bad \"token\"","data":{"code":"unauthenticated","message":"bad \"token\""}}`,
		string(connectError("", domain.ErrorPayload{Code: "unauthenticated", Message: `bad "token"`})))
	assert.Equal(t, `44/admin,{"message":"m","data":{"code":"not_found","message":"m"}}`,
		string(connectError("/admin", domain.ErrorPayload{Code: "not_found", Message: "m"})))
}
