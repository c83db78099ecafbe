package domain_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/messenger-go/messenger/domain"
)

// checkRejected fails unless err is a client error of one of the given kinds:
// bad input must never surface as an internal error.
func checkRejected(t *testing.T, err error, kinds ...domain.Kind) {
	t.Helper()
	var de *domain.Error
	if !errors.As(err, &de) {
		t.Fatalf("error %v is not a *domain.Error", err)
	}
	for _, k := range kinds {
		if de.Kind == k {
			return
		}
	}
	t.Fatalf("error %v has kind %s, want one of %v", err, de.Kind, kinds)
}

func FuzzNewMessage(f *testing.F) {
	seeds := []struct {
		text, typ string
		meta      []byte
		cid       string
	}{
		{"hello", "text", []byte(`{"k":"v"}`), "c-1"},
		{"hello", "", nil, ""},
		{"  ", "text", nil, "c"},
		{"a\x00b", "text", nil, "c"},
		{"\xff\xfe", "image", nil, "c"},
		{"x\xed\xa0\x80", "file", nil, "c"},
		{"héllo 👋", "system", []byte("null"), "c"},
		{"deep", "text", []byte(`{"a":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}`), "c"},
		{strings.Repeat("a", domain.MaxMessageBytes), "text", nil, "c"},
		{strings.Repeat("a", domain.MaxMessageBytes+1), "text", nil, "c"},
		{"\u00a0\u2028\u3000", "text", nil, "c"},
		{"ok", "TEXT", nil, "c"},
		{"ok", "video", nil, "c"},
		{"ok", "text", []byte(`[1]`), "c"},
		{"ok", "text", []byte(`{"a":"\u0000"}`), "c"},
		{"ok", "text", []byte(`{"a":"\\u0000"}`), "c"},
		{"ok", "text", []byte("{\"a\":\"\x00\"}"), "c"},
		{"ok", "text", []byte("{\"a\":\"\xff\"}"), "c"},
		{"ok", "text", []byte(`{"a":"\ud83d\ude00"}`), "c"},
		{"ok", "text", []byte(` { "a" : [ 1 , { "b" : null } ] } `), "c"},
		{"ok", "text", []byte(`{"a":1}{"b":2}`), "c"},
		{"ok", "text", []byte(`{"<":"&>"}`), "c"},
		{"ok", "text", []byte("\t null \n"), "c"},
		{"ok", "text", []byte(`{"a":"` + strings.Repeat("x", domain.MaxMetadataBytes) + `"}`), "c"},
		{"ok", "text", nil, strings.Repeat("k", domain.MaxClientMessageIDBytes+1)},
		{"ok", "text", nil, "k\x00"},
		{"ok", "text", nil, "\xc3"},
	}
	for _, s := range seeds {
		f.Add(s.text, s.typ, s.meta, s.cid, false)
	}
	f.Add("reverse", "text", []byte(`{}`), "c-2", true)

	now := time.Date(2026, 5, 6, 7, 8, 9, 10, time.FixedZone("X", -7200))
	f.Fuzz(func(t *testing.T, text, typ string, meta []byte, cid string, reverse bool) {
		d := domain.Draft{SenderID: bob, ReceiverID: alice, Text: text, Type: typ, Metadata: meta, ClientMessageID: cid}
		if reverse {
			d.SenderID, d.ReceiverID = d.ReceiverID, d.SenderID
		}
		m, err := domain.NewMessage(d, now)
		if err != nil {
			checkRejected(t, err, domain.KindInvalid, domain.KindTooLarge)
			return
		}

		if err := m.CheckIdentity(); err != nil {
			t.Fatalf("accepted message fails CheckIdentity: %v", err)
		}
		if m.Type == domain.MessageSystem {
			t.Fatalf("a client's draft of type %q became a system message", typ)
		}
		if m.Text != text {
			t.Fatalf("text changed: %q -> %q", text, m.Text)
		}
		if !utf8.ValidString(m.Text) || strings.IndexByte(m.Text, 0) >= 0 || len(m.Text) > domain.MaxMessageBytes {
			t.Fatalf("accepted text %q breaks the text rules", m.Text)
		}
		if strings.TrimSpace(m.Text) == "" {
			t.Fatalf("accepted blank text %q", m.Text)
		}
		if cid != "" && m.ClientMessageID != cid {
			t.Fatalf("clientMessageId changed: %q -> %q", cid, m.ClientMessageID)
		}
		if m.ID != domain.DeriveMessageID(d.SenderID, m.ClientMessageID) {
			t.Fatalf("id %s is not derived from sender and clientMessageId", m.ID)
		}
		if m.Metadata != nil {
			checkMetadata(t, m.Metadata)
		}

		// The message survives the wire.
		raw, err := json.Marshal(m)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		var back domain.Message
		if err := json.Unmarshal(raw, &back); err != nil {
			t.Fatalf("unmarshal %s: %v", raw, err)
		}
		if err := back.CheckIdentity(); err != nil {
			t.Fatalf("message fails CheckIdentity after a JSON round trip: %v\n%s", err, raw)
		}
		if back.Text != m.Text || back.ID != m.ID || back.Type != m.Type || !back.SentAt.Equal(m.SentAt) {
			t.Fatalf("JSON round trip changed the message:\n%+v\n%+v", m, back)
		}
	})
}

// checkMetadata checks what accepted metadata must be: a compact JSON object,
// valid UTF-8, without NUL in any form, within the size limit.
func checkMetadata(t *testing.T, meta json.RawMessage) {
	t.Helper()
	if len(meta) > domain.MaxMetadataBytes {
		t.Fatalf("metadata of %d bytes accepted", len(meta))
	}
	if !json.Valid(meta) || meta[0] != '{' {
		t.Fatalf("metadata %q is not a JSON object", meta)
	}
	// Numbers as written: an exponent up to MaxMetadataExponent is allowed,
	// which a float64 cannot hold.
	var obj map[string]any
	dec := json.NewDecoder(bytes.NewReader(meta))
	dec.UseNumber()
	if err := dec.Decode(&obj); err != nil {
		t.Fatalf("metadata %q does not decode as an object: %v", meta, err)
	}
	if !utf8.Valid(meta) || bytes.IndexByte(meta, 0) >= 0 || holdsNUL(obj) {
		t.Fatalf("metadata %q has invalid UTF-8 or a NUL", meta)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, meta); err != nil || !bytes.Equal(compact.Bytes(), meta) {
		t.Fatalf("metadata %q is not compact", meta)
	}
	if d := depth(meta); d > domain.MaxMetadataDepth {
		t.Fatalf("metadata %q nests %d deep", meta, d)
	}
	again, err := domain.ValidateMetadata(meta)
	if err != nil || !bytes.Equal(again, meta) {
		t.Fatalf("accepted metadata %q is not stable under ValidateMetadata: %q, %v", meta, again, err)
	}
}

// depth is how deeply the valid JSON js nests objects and arrays.
func depth(js []byte) int {
	dec := json.NewDecoder(bytes.NewReader(js))
	cur, deepest := 0, 0
	for {
		tok, err := dec.Token()
		if err != nil {
			return deepest
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			cur++
			deepest = max(deepest, cur)
		case json.Delim('}'), json.Delim(']'):
			cur--
		}
	}
}

var canonicalConversation = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

func FuzzParseConversationID(f *testing.F) {
	for _, s := range []string{
		string(alice) + "_" + string(bob),
		string(bob) + "_" + string(alice),
		strings.ToUpper(string(bob) + "_" + string(alice)),
		"AAAAAAAA-AAAA-4AAA-8AAA-AAAAAAAAAAAA_bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb",
		"Bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb_aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa",
		string(alice) + "_" + string(alice),
		string(alice) + "_" + strings.ToUpper(string(alice)),
		string(alice) + "_" + string(bob) + "_" + string(carol),
		string(alice) + "__" + string(bob),
		string(alice) + "-" + string(bob),
		"_", "", "__", string(alice), string(alice) + "_",
		"\x00", "\xff_\xfe",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		left, right, _ := strings.Cut(s, "_")
		a, errA := domain.ParseUserID(left)
		b, errB := domain.ParseUserID(right)
		if errA == nil && errB == nil {
			ab, errAB := domain.NewConversationID(a, b)
			ba, errBA := domain.NewConversationID(b, a)
			if (errAB == nil) != (errBA == nil) || ab != ba {
				t.Fatalf("NewConversationID is not symmetric: %q %v / %q %v", ab, errAB, ba, errBA)
			}
			if (errAB == nil) != (a != b) {
				t.Fatalf("NewConversationID(%q, %q) = %q, %v", a, b, ab, errAB)
			}
		}

		c, err := domain.ParseConversationID(s)
		if err != nil {
			checkRejected(t, err, domain.KindInvalid)
			if c != "" {
				t.Fatalf("rejected input returned %q", c)
			}
			return
		}
		if !canonicalConversation.MatchString(string(c)) {
			t.Fatalf("ParseConversationID(%q) = %q, not canonical", s, c)
		}
		x, y := c.Members()
		if x >= y {
			t.Fatalf("members of %q are not in order", c)
		}
		if !strings.EqualFold(s, string(x)+"_"+string(y)) && !strings.EqualFold(s, string(y)+"_"+string(x)) {
			t.Fatalf("ParseConversationID(%q) = %q names other users", s, c)
		}
		again, err := domain.ParseConversationID(string(c))
		if err != nil || again != c {
			t.Fatalf("%q does not round-trip: %q, %v", c, again, err)
		}
		built, err := domain.NewConversationID(y, x)
		if err != nil || built != c {
			t.Fatalf("NewConversationID of the members = %q, %v; want %q", built, err, c)
		}
		if p, err := c.Peer(x); err != nil || p != y || !c.Has(x) || !c.Has(y) {
			t.Fatalf("membership of %q is broken", c)
		}
	})
}

var anyCaseUUID = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

func FuzzParseUserID(f *testing.F) {
	for _, s := range []string{
		string(alice),
		"0F8FAD5B-D9CB-469F-A165-70867728950E",
		"00000000-0000-0000-0000-000000000000",
		"0f8fad5bd9cb469fa16570867728950e",
		"{0f8fad5b-d9cb-469f-a165-70867728950e}",
		"urn:uuid:0f8fad5b-d9cb-469f-a165-70867728950e",
		"0f8fad5g-d9cb-469f-a165-70867728950e",
		"0f8fad5b-d9cb-469f-a165-70867728950é",
		"0f8fad5b-d9cb-469f-a165-7086772895\x00e",
		strings.Repeat("-", 36), "", "\xff",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := domain.ParseUserID(s)
		mid, merr := domain.ParseMessageID(s)
		if (err == nil) != (merr == nil) || string(id) != string(mid) {
			t.Fatalf("ParseUserID and ParseMessageID disagree on %q", s)
		}
		if err != nil {
			checkRejected(t, err, domain.KindInvalid)
			if anyCaseUUID.MatchString(s) {
				t.Fatalf("rejected the UUID %q", s)
			}
			if id != "" {
				t.Fatalf("rejected input returned %q", id)
			}
			return
		}
		if !anyCaseUUID.MatchString(s) {
			t.Fatalf("accepted %q, which is not a hyphenated UUID", s)
		}
		if string(id) != strings.ToLower(s) {
			t.Fatalf("ParseUserID(%q) = %q, want it lower-cased", s, id)
		}
		again, err := domain.ParseUserID(string(id))
		if err != nil || again != id {
			t.Fatalf("%q does not round-trip: %q, %v", id, again, err)
		}
	})
}

// holdsNUL reports whether a decoded JSON value has a NUL in any key or string.
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
			if strings.IndexByte(k, 0) >= 0 || holdsNUL(e) {
				return true
			}
		}
	}
	return false
}
