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
// KindTooLarge.
func (h *Handler) decode(w http.ResponseWriter, r *http.Request, dst any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return domain.Errorf(domain.KindInvalid, "Content-Type must be application/json")
		}
	}
	body := http.MaxBytesReader(w, r.Body, h.maxBody)
	dec := json.NewDecoder(body)
	if err := dec.Decode(dst); err != nil {
		return decodeError(err)
	}
	// Exactly one value: trailing whitespace is fine, anything else is not.
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return decodeError(err)
		}
		return domain.Errorf(domain.KindInvalid, "request body must hold a single JSON object")
	}
	return nil
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
