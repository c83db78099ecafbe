package load

import (
	"strconv"
	"strings"
)

// clientMessageID names message idx of step in run: "mb.<run>.<step>.<idx>".
// Receivers parse it back to find the send a frame belongs to.
func clientMessageID(run string, step int, idx int64) string {
	b := make([]byte, 0, 3+len(run)+24)
	b = append(b, "mb."...)
	b = append(b, run...)
	b = append(b, '.')
	b = strconv.AppendInt(b, int64(step), 10)
	b = append(b, '.')
	b = strconv.AppendInt(b, idx, 10)
	return string(b)
}

// openMessageID is the clientMessageId of the first message of pair p's
// conversation, sent during the setup.
func openMessageID(run string, p int) string {
	return openPrefix(run) + strconv.Itoa(p)
}

// isOpenMessageID reports whether id is an openMessageID of this run.
func isOpenMessageID(run, id string) bool {
	return strings.HasPrefix(id, openPrefix(run))
}

// openPrefix starts every openMessageID of run.
func openPrefix(run string) string { return "mb." + run + ".open." }

// parseClientMessageID is the inverse of clientMessageID; ok is false for an
// id of another run or another program.
func parseClientMessageID(run, id string) (step int, idx int64, ok bool) {
	rest, found := strings.CutPrefix(id, "mb.")
	if !found {
		return 0, 0, false
	}
	rest, found = strings.CutPrefix(rest, run)
	if !found || len(rest) == 0 || rest[0] != '.' {
		return 0, 0, false
	}
	s, i, found := strings.Cut(rest[1:], ".")
	if !found {
		return 0, 0, false
	}
	st, err1 := strconv.Atoi(s)
	n, err2 := strconv.ParseInt(i, 10, 64)
	if err1 != nil || err2 != nil || st < 0 || n < 0 {
		return 0, 0, false
	}
	return st, n, true
}
