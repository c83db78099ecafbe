package http

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/messenger-go/messenger/domain"
)

// bodies are the request bodies decode serves, one constructor each.
var bodies = []func() any{
	func() any { return new(*sendRequest) },
	func() any { return new(registerRequest) },
	func() any { return new(loginRequest) },
	func() any { return new(refreshRequest) },
	func() any { return new(friendRequest) },
	func() any { return new(markReadRequest) },
}

// holdsNUL reports whether a key or string of v holds NUL.
func holdsNUL(v any) bool {
	switch v := v.(type) {
	case string:
		return strings.IndexByte(v, 0) >= 0
	case []any:
		for _, e := range v {
			if holdsNUL(e) {
				return true
			}
		}
	case map[string]any:
		for k, e := range v {
			if holdsNUL(k) || holdsNUL(e) {
				return true
			}
		}
	}
	return false
}

// FuzzDecodeBody checks, for any body and any request type, that decode
// never panics, refuses with a client error (invalid or too large, with a
// message), and accepts only one JSON value of clean text; and that a send
// it accepts goes through the message's one validation (domain.NewMessage)
// without a panic or an error of another kind.
func FuzzDecodeBody(f *testing.F) {
	for _, seed := range []string{
		`{"receiverId":"22222222-2222-4222-8222-222222222222","message":"hi","metadata":{"k":[1,{"a":null}]}}`,
		`{"receiverId":"x","message":"hi","messageType":"system"}`,
		`{"receiverId":"x","message":"hi","metadata":{"a":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}}`,
		`{"firstName":"A","lastName":"B","email":"a@example.com","password":"correct horse"}`,
		`{"email":"a@example.com","password":"p"}`,
		`{"refreshToken":"t"}`,
		`{"friendId":"22222222-2222-4222-8222-222222222222"}`,
		`{"conversationId":"a_b","upToSequenceId":3}`,
		`{"message":"a\u0000b"}`,
		`{"message":"\ud800"}`,
		"{\"message\":\"\xff\"}",
		`{} {}`,
		`null`,
		`[1]`,
		`{"upToSequenceId":1e400}`,
		"",
	} {
		for i := range bodies {
			f.Add([]byte(seed), uint8(i))
		}
	}
	h := &Handler{maxBody: 4 << 10}
	f.Fuzz(func(t *testing.T, body []byte, which uint8) {
		dst := bodies[int(which)%len(bodies)]()
		r := httptest.NewRequest("POST", "/", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		err := h.decode(httptest.NewRecorder(), r, dst)
		if err != nil {
			var de *domain.Error
			if !errors.As(err, &de) || (de.Kind != domain.KindInvalid && de.Kind != domain.KindTooLarge) || de.Message == "" {
				t.Fatalf("refusal %v: want invalid or too large, with a message", err)
			}
			return
		}
		if len(body) > int(h.maxBody) {
			t.Fatalf("accepted %d bytes over the limit of %d", len(body), h.maxBody)
		}
		if !utf8.Valid(body) || !json.Valid(body) {
			t.Fatalf("accepted a body that is not one JSON value of UTF-8: %q", body)
		}
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("accepted %q: %v", body, err)
		}
		if holdsNUL(v) {
			t.Fatalf("accepted a NUL in %q", body)
		}
		req, ok := dst.(**sendRequest)
		if !ok || *req == nil {
			return
		}
		m, err := domain.NewMessage(domain.Draft{
			SenderID:        "11111111-1111-4111-8111-111111111111",
			ReceiverID:      domain.UserID((*req).ReceiverID),
			Text:            (*req).Message,
			Type:            (*req).MessageType,
			Metadata:        (*req).Metadata,
			ClientMessageID: (*req).ClientMessageID,
		}, time.Unix(0, 0))
		if err != nil {
			if k := domain.KindOf(err); k != domain.KindInvalid && k != domain.KindTooLarge {
				t.Fatalf("send refused with %v", err)
			}
			return
		}
		if m.Type == domain.MessageSystem {
			t.Fatalf("a client's send became a system message: %q", body)
		}
	})
}

// FuzzHistoryQuery checks the other client input of history, its path id and
// query: refusals are invalid, an id is read as the conversation it names,
// and what is accepted is a page the stores can serve (a limit within
// 1..MaxPageLimit, cursors not negative, before above after).
func FuzzHistoryQuery(f *testing.F) {
	for _, seed := range []struct{ id, query string }{
		{"22222222-2222-4222-8222-222222222222", "before=10&limit=20"},
		{"11111111-1111-4111-8111-111111111111_22222222-2222-4222-8222-222222222222", "after=0"},
		{"11111111-1111-4111-8111-111111111111", ""},
		{"x", "before=0"},
		{"", "limit=201&after=-1"},
		{"", "before=5&after=5"},
		{"", "limit=99999999999999999999"},
		{"", "after=%zz&before=%00"},
	} {
		f.Add(seed.id, seed.query)
	}
	const caller domain.UserID = "11111111-1111-4111-8111-111111111111"
	f.Fuzz(func(t *testing.T, id, rawQuery string) {
		refusedAsInvalid := func(err error) {
			if domain.KindOf(err) != domain.KindInvalid || domain.MessageOf(err) == "" {
				t.Fatalf("refusal %v: want invalid, with a message", err)
			}
		}
		// A conversation id is taken as it is (the use case checks that the
		// caller is a participant); a user id names the caller's
		// conversation with that user.
		if conv, err := historyConversation(caller, id); err != nil {
			refusedAsInvalid(err)
		} else if asConv, err := domain.ParseConversationID(id); err == nil {
			if conv != asConv {
				t.Fatalf("history id %q names %q", id, conv)
			}
		} else if peer, err := domain.ParseUserID(id); err != nil || !conv.Has(caller) || !conv.Has(peer) {
			t.Fatalf("history id %q names %q, not the caller's conversation with them", id, conv)
		}
		q, _ := url.ParseQuery(rawQuery) // what parses, as r.URL.Query() gives it
		page, err := historyPage(q)
		if err != nil {
			refusedAsInvalid(err)
			return
		}
		if page.Limit < 1 || page.Limit > domain.MaxPageLimit || page.Before < 0 || page.After < 0 ||
			(page.Before != 0 && page.HasAfter && page.Before <= page.After) {
			t.Fatalf("query %q accepted as %+v", rawQuery, page)
		}
	})
}
