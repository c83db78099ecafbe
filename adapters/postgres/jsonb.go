package postgres

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"

	"github.com/messenger-go/messenger/domain"
)

// Bounds of PostgreSQL's numeric type, which jsonb numbers are stored as: digits
// before and after the decimal point.
const (
	maxNumericIntDigits  = 131072
	maxNumericFracDigits = 16383
)

// checkJSONB checks what jsonb refuses in metadata that is valid JSON: a
// string holding NUL (the escape \u0000) and a number beyond numeric's range.
// It does not find unpaired UTF-16 surrogate escapes, which jsonb refuses too:
// the database reports those. Empty metadata is none.
func checkJSONB(meta json.RawMessage) error {
	if len(meta) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(meta))
	dec.UseNumber()
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return domain.Errorf(domain.KindInvalid, "metadata is not valid JSON")
		}
		switch v := tok.(type) {
		case string: // keys too
			if strings.IndexByte(v, 0) >= 0 {
				return domain.Errorf(domain.KindInvalid, "metadata contains a NUL character")
			}
		case json.Number:
			if !numericInRange([]byte(v)) {
				return domain.Errorf(domain.KindInvalid, "metadata contains a number out of range")
			}
		}
	}
}

// numericInRange reports whether the JSON number fits PostgreSQL's numeric:
// |exponent| below 2^30-1 (checked before anything else, even for zero), a
// display scale (fraction digits minus exponent) of at most 16383 (even for
// zero), and at most 131072 digits before the decimal point.
func numericInRange(num []byte) bool {
	mant, exp, _ := bytes.Cut(bytes.ToLower(num), []byte("e"))
	mant = bytes.TrimPrefix(mant, []byte("-"))
	intPart, frac, _ := bytes.Cut(mant, []byte("."))
	e := 0
	if len(exp) > 0 {
		neg := exp[0] == '-'
		digits := bytes.TrimLeft(bytes.TrimLeft(exp, "+-"), "0")
		if len(digits) > 10 {
			return false
		}
		for _, d := range digits {
			e = e*10 + int(d-'0')
		}
		if e >= 1<<30-1 {
			return false
		}
		if neg {
			e = -e
		}
	}
	if len(frac)-e > maxNumericFracDigits {
		return false
	}
	if lead := bytes.TrimLeft(intPart, "0"); len(lead) > 0 {
		return len(lead)+e <= maxNumericIntDigits
	}
	zeros := len(frac) - len(bytes.TrimLeft(frac, "0"))
	if zeros == len(frac) {
		return true // zero
	}
	return e-zeros <= maxNumericIntDigits
}
