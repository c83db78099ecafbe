package http

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/messenger-go/messenger/domain"
)

// writeJSON answers with status and v encoded as JSON. API answers are never
// cached: some carry credentials, all are per user.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		body = []byte(`{"error":{"code":"internal","message":"internal error"}}`)
	}
	hdr := w.Header()
	hdr.Set("Content-Type", "application/json; charset=utf-8")
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}

// decode reads the request body, one JSON value, into dst. Unknown fields are
// ignored (forward compatibility); anything else that is not exactly one valid
// value of the right types is KindInvalid, and a body above the limit is
// KindTooLarge. The body is read whole first (it is bounded) and refused when
// it is not valid UTF-8 or holds a NUL: encoding/json would replace bad bytes
// with U+FFFD and let the rest through.
func (h *Handler) decode(w http.ResponseWriter, r *http.Request, dst any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return domain.Errorf(domain.KindInvalid, "Content-Type must be application/json")
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.maxBody))
	if err != nil {
		return decodeError(err)
	}
	if err := checkText(body); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(dst); err != nil {
		return decodeError(err)
	}
	// Exactly one value: trailing whitespace is fine, anything else is not.
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return domain.Errorf(domain.KindInvalid, "request body must hold a single JSON object")
	}
	return nil
}

// checkText refuses, in one pass over body, what decoding would silently
// alter or what no text field may hold: bytes that are not UTF-8, a NUL, and
// the JSON escapes of a NUL (\u0000) or of an unpaired surrogate (which
// decodes to U+FFFD). Escapes are recognised wherever a backslash stands:
// outside a string a backslash is a syntax error the decoder reports anyway.
func checkText(body []byte) error {
	for i := 0; i < len(body); {
		c := body[i]
		switch {
		case c == 0:
			return errNUL
		case c == '\\':
			n, err := checkEscape(body[i:])
			if err != nil {
				return err
			}
			i += n
		case c < utf8.RuneSelf:
			i++
		default:
			r, size := utf8.DecodeRune(body[i:])
			if r == utf8.RuneError && size == 1 {
				return domain.Errorf(domain.KindInvalid, "request body is not valid UTF-8")
			}
			i += size
		}
	}
	return nil
}

var errNUL = domain.Errorf(domain.KindInvalid, "request body must not contain NUL characters")

// checkEscape checks the escape at the start of b and returns its length.
// A malformed escape is left to the decoder.
func checkEscape(b []byte) (int, error) {
	u, ok := unicodeEscape(b)
	switch {
	case !ok:
		return min(2, len(b)), nil
	case u == 0:
		return 0, errNUL
	case utf16.IsSurrogate(rune(u)):
		if low, ok := unicodeEscape(b[6:]); u < 0xdc00 && ok && low >= 0xdc00 && low <= 0xdfff {
			return 12, nil
		}
		return 0, domain.Errorf(domain.KindInvalid, "request body holds an unpaired UTF-16 surrogate escape")
	}
	return 6, nil
}

// unicodeEscape reads a \uXXXX escape at the start of b.
func unicodeEscape(b []byte) (uint16, bool) {
	if len(b) < 6 || b[0] != '\\' || b[1] != 'u' {
		return 0, false
	}
	var v uint16
	for _, c := range b[2:6] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c|0x20 && c|0x20 <= 'f':
			c = c | 0x20 - 'a' + 10
		default:
			return 0, false
		}
		v = v<<4 | uint16(c)
	}
	return v, true
}

func decodeError(err error) error {
	var (
		tooBig    *http.MaxBytesError
		syntax    *json.SyntaxError
		typeError *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &tooBig):
		return domain.Errorf(domain.KindTooLarge, "request body exceeds %d bytes", tooBig.Limit)
	case errors.Is(err, io.EOF):
		return domain.Errorf(domain.KindInvalid, "request body is empty")
	case errors.As(err, &syntax), errors.Is(err, io.ErrUnexpectedEOF):
		return domain.Errorf(domain.KindInvalid, "request body is not valid JSON")
	case errors.As(err, &typeError):
		if typeError.Field == "" {
			return domain.Errorf(domain.KindInvalid, "request body must be a JSON object")
		}
		return domain.Errorf(domain.KindInvalid, "field %q must be %s", typeError.Field, jsonKind(typeError.Type.Kind().String()))
	}
	return domain.Wrap(domain.KindInvalid, err, "request body could not be read")
}

func jsonKind(goKind string) string {
	switch {
	case goKind == "string":
		return "a string"
	case strings.HasPrefix(goKind, "int"), strings.HasPrefix(goKind, "uint"):
		return "an integer"
	case goKind == "bool":
		return "a boolean"
	}
	return fmt.Sprintf("of another type (%s)", goKind)
}

// rawJSON writes an already-encoded JSON document.
func rawJSON(w http.ResponseWriter, status int, body []byte, cacheControl string) {
	hdr := w.Header()
	hdr.Set("Content-Type", "application/json; charset=utf-8")
	hdr.Set("Cache-Control", cacheControl)
	hdr.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(bytes.TrimRight(body, "\n"))
}
