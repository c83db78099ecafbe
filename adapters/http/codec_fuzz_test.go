package http

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/messenger-go/messenger/domain"
)

// fuzzBody has the field types request bodies use.
type fuzzBody struct {
	ReceiverID string          `json:"receiverId"`
	Message    string          `json:"message"`
	Metadata   json.RawMessage `json:"metadata"`
	UpTo       int64           `json:"upToSequenceId"`
	Flag       bool            `json:"flag"`
	Tags       []string        `json:"tags"`
}

// FuzzDecodeBody checks, for any request body, that decode never panics,
// that a refusal is KindInvalid (KindTooLarge above the limit) with a
// message, and that an accepted body was one JSON value of valid UTF-8 whose
// decoded strings hold no NUL and no U+FFFD the body did not spell out (JSON
// decoding would otherwise replace bad bytes silently). Its seed corpus is in
// testdata/fuzz/FuzzDecodeBody.
func FuzzDecodeBody(f *testing.F) {
	h := &Handler{maxBody: 4 << 10}
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest("POST", "/messages/send", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		var dst fuzzBody
		err := h.decode(httptest.NewRecorder(), r, &dst)
		if err != nil {
			kind := domain.KindOf(err)
			if (kind != domain.KindInvalid && kind != domain.KindTooLarge) || domain.MessageOf(err) == "" {
				t.Fatalf("refusal %v: want KindInvalid or KindTooLarge with a message", err)
			}
			if kind == domain.KindTooLarge && int64(len(body)) <= h.maxBody {
				t.Fatalf("a body of %d bytes refused as too large", len(body))
			}
			return
		}
		if int64(len(body)) > h.maxBody {
			t.Fatalf("accepted a body of %d bytes, over the limit", len(body))
		}
		if !utf8.Valid(body) || bytes.IndexByte(body, 0) >= 0 {
			t.Fatalf("accepted a body that is not clean UTF-8: %q", body)
		}
		if !json.Valid(body) {
			t.Fatalf("accepted a body that is not one JSON value: %q", body)
		}
		spelled := bytes.ContainsRune(body, utf8.RuneError) || bytes.Contains(bytes.ToLower(body), []byte(`\ufffd`))
		strs := append([]string{dst.ReceiverID, dst.Message}, dst.Tags...)
		for _, s := range strs {
			if !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
				t.Fatalf("decoded %q from %q", s, body)
			}
			if !spelled && strings.ContainsRune(s, utf8.RuneError) {
				t.Fatalf("decoding replaced something with U+FFFD: %q from %q", s, body)
			}
		}
		if len(dst.Metadata) > 0 && !json.Valid(dst.Metadata) {
			t.Fatalf("metadata %q is not JSON", dst.Metadata)
		}
	})
}
