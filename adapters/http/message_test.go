package http_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	api "github.com/messenger-go/messenger/adapters/http"
	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
)

// echoSend answers like the real use case: it validates the draft with
// domain.NewMessage and returns the receipt of the message. It records every
// draft it is called with.
func echoSend(got *[]domain.Draft) func(context.Context, domain.Draft) (ports.SendReceipt, error) {
	return func(_ context.Context, d domain.Draft) (ports.SendReceipt, error) {
		*got = append(*got, d)
		m, err := domain.NewMessage(d, t0)
		if err != nil {
			return ports.SendReceipt{}, err
		}
		return ports.SendReceipt{
			MessageID:       m.ID,
			ClientMessageID: m.ClientMessageID,
			ConversationID:  m.ConversationID,
			Status:          "queued",
		}, nil
	}
}

func TestSendMessage(t *testing.T) {
	s := newServer(t)
	var got []domain.Draft
	s.svc.sendMessage = echoSend(&got)

	w := s.do(t, request{method: "POST", path: "/messages/send", token: goodToken,
		body: `{"receiverId":"` + string(bob) + `","message":"hi Bob","messageType":"text","metadata":{"reply":1},"clientMessageId":"c-1"}`})
	require.Equal(t, http.StatusAccepted, w.Code, w.Body.String())
	want := `{"messageId":"` + string(domain.DeriveMessageID(alice, "c-1")) + `","clientMessageId":"c-1","conversationId":"` + string(aliceBob) + `","status":"queued"}`
	assert.JSONEq(t, want, w.Body.String())
	require.Len(t, got, 1)
	assert.Equal(t, domain.Draft{SenderID: alice, ReceiverID: bob, Text: "hi Bob", Type: "text",
		Metadata: json.RawMessage(`{"reply":1}`), ClientMessageID: "c-1"}, got[0])

	// Optional fields may be absent.
	got = nil
	w = s.do(t, request{method: "POST", path: "/messages/send", token: goodToken,
		body: `{"receiverId":"` + string(bob) + `","message":"plain"}`})
	require.Equal(t, http.StatusAccepted, w.Code, w.Body.String())
	require.Len(t, got, 1)
	assert.Equal(t, "", got[0].Type)
	assert.Nil(t, got[0].Metadata)
}

func TestSendMessageRejectsBadInput(t *testing.T) {
	s := newServer(t)
	var got []domain.Draft
	s.svc.sendMessage = echoSend(&got)
	to := `"receiverId":"` + string(bob) + `"`
	// A request of the wrong shape never reaches the service; a message the
	// use case refuses is answered with the status of its error.
	const malformed, refused = false, true
	cases := []struct {
		name    string
		body    string
		status  int
		code    string
		reaches bool
	}{
		{"invalid JSON", `{` + to + `,"message":"hi"`, 400, "invalid", malformed},
		{"not JSON", `receiverId=bob&message=hi`, 400, "invalid", malformed},
		{"trailing garbage", `{` + to + `,"message":"hi"} trailing`, 400, "invalid", malformed},
		{"empty body", ``, 400, "invalid", malformed},
		{"null body", `null`, 400, "invalid", malformed},
		{"message wrong type", `{` + to + `,"message":5}`, 400, "invalid", malformed},
		{"messageType wrong type", `{` + to + `,"message":"hi","messageType":1}`, 400, "invalid", malformed},
		{"clientMessageId wrong type", `{` + to + `,"message":"hi","clientMessageId":7}`, 400, "invalid", malformed},
		{"oversized body", `{` + to + `,"message":"hi","pad":"` + strings.Repeat("p", api.DefaultMaxBodyBytes) + `"}`, 413, "too_large", malformed},
		{"receiverId missing", `{"message":"hi"}`, 400, "invalid", refused},
		{"receiverId not a uuid", `{"receiverId":"bob","message":"hi"}`, 400, "invalid", refused},
		{"receiverId conversation id", `{"receiverId":"` + string(aliceBob) + `","message":"hi"}`, 400, "invalid", refused},
		{"to yourself", `{"receiverId":"` + string(alice) + `","message":"hi"}`, 400, "invalid", refused},
		{"empty message", `{` + to + `,"message":""}`, 400, "invalid", refused},
		{"blank message", `{` + to + `,"message":" \n\t "}`, 400, "invalid", refused},
		{"missing message", `{` + to + `}`, 400, "invalid", refused},
		{"NUL in message", `{` + to + `,"message":"a\u0000b"}`, 400, "invalid", malformed},
		{"NUL in metadata value", `{` + to + `,"message":"hi","metadata":{"k":"a\u0000b"}}`, 400, "invalid", malformed},
		{"NUL in metadata key", `{` + to + `,"message":"hi","metadata":{"\u0000":1}}`, 400, "invalid", malformed},
		{"NUL in clientMessageId", `{` + to + `,"message":"hi","clientMessageId":"a\u0000"}`, 400, "invalid", malformed},
		{"metadata not an object", `{` + to + `,"message":"hi","metadata":"str"}`, 400, "invalid", refused},
		{"metadata array", `{` + to + `,"message":"hi","metadata":[1]}`, 400, "invalid", refused},
		{"metadata number out of range", `{` + to + `,"message":"hi","metadata":{"n":1e-100000}}`, 400, "invalid", refused},
		{"unknown messageType", `{` + to + `,"message":"hi","messageType":"video"}`, 400, "invalid", refused},
		{"oversized message", `{` + to + `,"message":"` + strings.Repeat("x", domain.MaxMessageBytes+1) + `"}`, 413, "too_large", refused},
		{"oversized metadata", `{` + to + `,"message":"hi","metadata":{"k":"` + strings.Repeat("x", domain.MaxMetadataBytes) + `"}}`, 413, "too_large", refused},
		{"oversized clientMessageId", `{` + to + `,"message":"hi","clientMessageId":"` + strings.Repeat("c", domain.MaxClientMessageIDBytes+1) + `"}`, 413, "too_large", refused},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got = nil
			w := s.do(t, request{method: "POST", path: "/messages/send", token: goodToken, body: tc.body})
			requireError(t, w, tc.status, tc.code)
			if tc.reaches {
				assert.Len(t, got, 1, "the use case decides")
			} else {
				assert.Empty(t, got, "a malformed request never reaches the service")
			}
		})
	}

	t.Run("unknown fields are accepted", func(t *testing.T) {
		got = nil
		w := s.do(t, request{method: "POST", path: "/messages/send", token: goodToken,
			body: `{` + to + `,"message":"hi","futureField":{"x":[1,2]}}`})
		require.Equal(t, http.StatusAccepted, w.Code, w.Body.String())
		assert.Len(t, got, 1)
	})
	t.Run("wrong content type", func(t *testing.T) {
		got = nil
		w := s.do(t, request{method: "POST", path: "/messages/send", token: goodToken,
			body: `{` + to + `,"message":"hi"}`, header: http.Header{"Content-Type": {"text/plain"}}})
		requireError(t, w, http.StatusBadRequest, "invalid")
		assert.Empty(t, got)
	})
	t.Run("no token", func(t *testing.T) {
		got = nil
		w := s.do(t, request{method: "POST", path: "/messages/send", body: `{` + to + `,"message":"hi"}`})
		requireError(t, w, http.StatusUnauthorized, "unauthenticated")
		assert.Empty(t, got)
	})
}

func TestSendMessageServiceErrors(t *testing.T) {
	to := `{"receiverId":"` + string(bob) + `","message":"hi","clientMessageId":"c-9"}`
	cases := []struct {
		name   string
		err    error
		status int
		code   string
	}{
		{"not friends", domain.Errorf(domain.KindForbidden, "not friends"), 403, "forbidden"},
		{"too large for the log", domain.Errorf(domain.KindTooLarge, "record too large"), 413, "too_large"},
		{"rate limited", domain.Errorf(domain.KindRateLimited, "slow down"), 429, "rate_limited"},
		{"log down", domain.Wrap(domain.KindUnavailable, context.DeadlineExceeded, "message log unavailable"), 503, "unavailable"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newServer(t)
			s.svc.sendMessage = func(context.Context, domain.Draft) (ports.SendReceipt, error) { return ports.SendReceipt{}, tc.err }
			w := s.do(t, request{method: "POST", path: "/messages/send", token: goodToken, body: to})
			requireError(t, w, tc.status, tc.code)
		})
	}
}

func message(seq domain.Sequence, from, to domain.UserID) domain.Message {
	conv, _ := domain.NewConversationID(from, to)
	read := t0.Add(2e9)
	return domain.Message{
		ID: domain.DeriveMessageID(from, "c"), ClientMessageID: "c", ConversationID: conv, Sequence: seq,
		SenderID: from, ReceiverID: to, Text: "hello", Type: domain.MessageText,
		Metadata: json.RawMessage(`{"a":1}`), SentAt: t0, DeliveredAt: &read, ReadAt: nil,
	}
}

func messageJSON(seq string) string {
	return `{"messageId":"` + string(domain.DeriveMessageID(alice, "c")) + `","clientMessageId":"c","conversationId":"` + string(aliceBob) +
		`","sequenceId":` + seq + `,"senderId":"` + string(alice) + `","receiverId":"` + string(bob) +
		`","message":"hello","messageType":"text","metadata":{"a":1},"timestamp":` + t0JSON +
		`,"deliveredAt":"2026-03-01T12:00:02Z","readAt":null}`
}

func TestHistory(t *testing.T) {
	s := newServer(t)
	type call struct {
		conv domain.ConversationID
		page domain.Page
	}
	var calls []call
	var msgs []domain.Message
	s.svc.history = func(_ context.Context, caller domain.UserID, conv domain.ConversationID, p domain.Page) ([]domain.Message, bool, error) {
		if caller != alice {
			return nil, false, domain.Errorf(domain.KindInternal, "wrong caller")
		}
		calls = append(calls, call{conv, p})
		return msgs, msgs != nil, nil
	}

	t.Run("answer", func(t *testing.T) {
		calls, msgs = nil, []domain.Message{message(7, alice, bob), message(8, alice, bob)}
		w := s.do(t, request{method: "GET", path: "/messages/history/" + string(aliceBob) + "?before=9&after=6&limit=2", token: goodToken})
		require.Equal(t, http.StatusOK, w.Code, w.Body.String())
		assert.JSONEq(t, `{"messages":[`+messageJSON("7")+`,`+messageJSON("8")+`],"hasMore":true}`, w.Body.String())
		assert.Equal(t, []call{{aliceBob, domain.Page{Before: 9, After: 6, HasAfter: true, Limit: 2}}}, calls)
	})
	// Each cursor form reaches the service as the page it names: after=0 is
	// "after sequence 0", the oldest page, never "no cursor".
	for _, tc := range []struct {
		name, query string
		want        domain.Page
	}{
		{"no cursor", "", domain.Page{Limit: domain.DefaultPageLimit}},
		{"empty parameters are absent", "?before=&after=&limit=", domain.Page{Limit: domain.DefaultPageLimit}},
		{"before", "?before=4&limit=2", domain.Page{Before: 4, Limit: 2}},
		{"after 0", "?after=0&limit=2", domain.Page{HasAfter: true, Limit: 2}},
		{"after n", "?after=3", domain.Page{After: 3, HasAfter: true, Limit: domain.DefaultPageLimit}},
		{"both", "?after=0&before=5&limit=3", domain.Page{Before: 5, HasAfter: true, Limit: 3}},
	} {
		t.Run("cursor "+tc.name, func(t *testing.T) {
			calls, msgs = nil, nil
			w := s.do(t, request{method: "GET", path: "/messages/history/" + string(aliceBob) + tc.query, token: goodToken})
			require.Equal(t, http.StatusOK, w.Code, w.Body.String())
			assert.Equal(t, []call{{aliceBob, tc.want}}, calls)
		})
	}
	t.Run("by peer with defaults", func(t *testing.T) {
		calls, msgs = nil, nil
		w := s.do(t, request{method: "GET", path: "/messages/history/" + strings.ToUpper(string(bob)), token: goodToken})
		require.Equal(t, http.StatusOK, w.Code, w.Body.String())
		assert.JSONEq(t, `{"messages":[],"hasMore":false}`, w.Body.String())
		assert.Equal(t, []call{{aliceBob, domain.Page{Limit: domain.DefaultPageLimit}}}, calls, "the peer's id names the conversation with the caller")
	})
	t.Run("conversation id in either order", func(t *testing.T) {
		calls, msgs = nil, nil
		w := s.do(t, request{method: "GET", path: "/messages/history/" + string(bob) + "_" + string(alice), token: goodToken})
		require.Equal(t, http.StatusOK, w.Code, w.Body.String())
		assert.Equal(t, []call{{aliceBob, domain.Page{Limit: domain.DefaultPageLimit}}}, calls)
	})
	for _, tc := range []struct{ name, path string }{
		{"bad id", "/messages/history/nope"},
		{"conversation with yourself", "/messages/history/" + string(alice) + "_" + string(alice)},
		{"yourself as the peer", "/messages/history/" + string(alice)},
		{"half a conversation", "/messages/history/" + string(alice) + "_"},
		{"before not a number", "/messages/history/" + string(bob) + "?before=abc"},
		{"before 0", "/messages/history/" + string(bob) + "?before=0"},
		{"after a float", "/messages/history/" + string(bob) + "?after=1.5"},
		{"after negative", "/messages/history/" + string(bob) + "?after=-1"},
		{"limit zero", "/messages/history/" + string(bob) + "?limit=0"},
		{"limit too big", "/messages/history/" + string(bob) + "?limit=201"},
		{"limit huge", "/messages/history/" + string(bob) + "?limit=99999999999999999999"},
		{"limit exponent", "/messages/history/" + string(bob) + "?limit=1e2"},
		{"before not after after", "/messages/history/" + string(bob) + "?before=5&after=5"},
		{"before not after after 0", "/messages/history/" + string(bob) + "?before=0&after=0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			calls = nil
			requireError(t, s.do(t, request{method: "GET", path: tc.path, token: goodToken}), http.StatusBadRequest, "invalid")
			assert.Empty(t, calls)
		})
	}
	t.Run("not a participant", func(t *testing.T) {
		s.svc.history = func(context.Context, domain.UserID, domain.ConversationID, domain.Page) ([]domain.Message, bool, error) {
			return nil, false, domain.Errorf(domain.KindForbidden, "not a participant of this conversation")
		}
		other := "33333333-3333-4333-8333-333333333333_44444444-4444-4444-8444-444444444444"
		requireError(t, s.do(t, request{method: "GET", path: "/messages/history/" + other, token: goodToken}), http.StatusForbidden, "forbidden")
	})
}

func TestMarkRead(t *testing.T) {
	s := newServer(t)
	type call struct {
		conv domain.ConversationID
		upTo domain.Sequence
	}
	var calls []call
	s.svc.markRead = func(_ context.Context, caller domain.UserID, conv domain.ConversationID, upTo domain.Sequence) (domain.Watermark, error) {
		if caller != alice {
			return domain.Watermark{}, domain.Errorf(domain.KindInternal, "wrong caller")
		}
		calls = append(calls, call{conv, upTo})
		return domain.Watermark{ConversationID: conv, UpTo: upTo}, nil
	}
	w := s.do(t, request{method: "POST", path: "/messages/mark-read", token: goodToken,
		body: `{"conversationId":"` + string(aliceBob) + `","upToSequenceId":42}`})
	require.Equal(t, http.StatusAccepted, w.Code, w.Body.String())
	assert.JSONEq(t, `{"conversationId":"`+string(aliceBob)+`","upToSequenceId":42}`, w.Body.String())
	assert.Equal(t, []call{{aliceBob, 42}}, calls)

	for name, body := range map[string]string{
		"bad conversation":  `{"conversationId":"x_y","upToSequenceId":1}`,
		"user id only":      `{"conversationId":"` + string(bob) + `","upToSequenceId":1}`,
		"sequence a string": `{"conversationId":"` + string(aliceBob) + `","upToSequenceId":"1"}`,
		"sequence a float":  `{"conversationId":"` + string(aliceBob) + `","upToSequenceId":1.5}`,
		"sequence zero":     `{"conversationId":"` + string(aliceBob) + `","upToSequenceId":0}`,
		"sequence missing":  `{"conversationId":"` + string(aliceBob) + `"}`,
		"sequence negative": `{"conversationId":"` + string(aliceBob) + `","upToSequenceId":-3}`,
	} {
		t.Run(name, func(t *testing.T) {
			calls = nil
			requireError(t, s.do(t, request{method: "POST", path: "/messages/mark-read", token: goodToken, body: body}), http.StatusBadRequest, "invalid")
			assert.Empty(t, calls)
		})
	}
}

func TestUnreadCount(t *testing.T) {
	s := newServer(t)
	var counts domain.UnreadCounts
	s.svc.unreadCount = func(context.Context, domain.UserID) (domain.UnreadCounts, error) { return counts, nil }

	w := s.do(t, request{method: "GET", path: "/messages/unread-count", token: goodToken})
	require.Equal(t, http.StatusOK, w.Code)
	assert.JSONEq(t, `{"unreadCount":0,"byConversation":{}}`, w.Body.String())

	counts = domain.UnreadCounts{Total: 3, ByConversation: map[domain.ConversationID]int64{aliceBob: 3}}
	w = s.do(t, request{method: "GET", path: "/messages/unread-count", token: goodToken})
	require.Equal(t, http.StatusOK, w.Code)
	assert.JSONEq(t, `{"unreadCount":3,"byConversation":{"`+string(aliceBob)+`":3}}`, w.Body.String())
}

func TestConversations(t *testing.T) {
	s := newServer(t)
	var convs []domain.ConversationSummary
	s.svc.conversations = func(context.Context, domain.UserID) ([]domain.ConversationSummary, error) { return convs, nil }

	w := s.do(t, request{method: "GET", path: "/messages/conversations", token: goodToken})
	require.Equal(t, http.StatusOK, w.Code)
	assert.JSONEq(t, `{"conversations":[]}`, w.Body.String())

	convs = []domain.ConversationSummary{{ConversationID: aliceBob, Peer: bobUser, LastMessage: message(8, alice, bob), UnreadCount: 2}}
	w = s.do(t, request{method: "GET", path: "/messages/conversations", token: goodToken})
	require.Equal(t, http.StatusOK, w.Code)
	assert.JSONEq(t, `{"conversations":[{"conversationId":"`+string(aliceBob)+`","peer":`+bobJSON+`,"lastMessage":`+messageJSON("8")+`,"unreadCount":2}]}`, w.Body.String())
}

// BenchmarkSendMessage measures the adapter's own cost of a send: routing,
// authentication call, decoding and encoding, over a fake service that
// validates like the use case.
func BenchmarkSendMessage(b *testing.B) {
	svc := &fakeService{}
	var drafts []domain.Draft
	send := echoSend(&drafts)
	svc.sendMessage = func(ctx context.Context, d domain.Draft) (ports.SendReceipt, error) {
		drafts = drafts[:0]
		return send(ctx, d)
	}
	h, err := api.NewHandler(api.Config{Service: svc})
	require.NoError(b, err)
	body := `{"receiverId":"` + string(bob) + `","message":"hello there","clientMessageId":"c-1","metadata":{"k":"v"}}`
	b.ReportAllocs()
	for b.Loop() {
		r := httptest.NewRequest("POST", "/messages/send", strings.NewReader(body))
		r.Header.Set("Authorization", "Bearer "+goodToken)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusAccepted {
			b.Fatal(w.Code, w.Body.String())
		}
	}
}
