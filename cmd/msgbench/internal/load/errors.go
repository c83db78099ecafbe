package load

import (
	"context"
	"errors"
	"net"
	"os"
	"strings"
	"syscall"
)

// errorKind names a client-side error in a few words, so that errors can be
// counted by kind.
func errorKind(err error) string {
	var ne net.Error
	switch {
	case err == nil:
		return "none"
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return "connection reset"
	case errors.Is(err, syscall.EADDRNOTAVAIL), errors.Is(err, syscall.EADDRINUSE):
		return "no local port left"
	case errors.Is(err, syscall.EMFILE), errors.Is(err, syscall.ENFILE):
		return "too many open files"
	case errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	}
	s := err.Error()
	if strings.HasPrefix(s, "http_") {
		if i := strings.IndexByte(s, ':'); i > 0 {
			return s[:i]
		}
	}
	if strings.Contains(s, "EOF") {
		return "connection closed"
	}
	if len(s) > 60 {
		s = s[:60]
	}
	return s
}
