package postgres

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/puddle/v2"

	"github.com/messenger-go/messenger/domain"
)

// SQLSTATE codes the store reacts to.
const (
	codeUniqueViolation      = "23505"
	codeForeignKeyViolation  = "23503"
	codeCheckViolation       = "23514"
	codeSerializationFailure = "40001"
	codeDeadlockDetected     = "40P01"
	codeQueryCanceled        = "57014"
	codeLockNotAvailable     = "55P03"
)

// translate gives err a domain kind. what says what was being done; it is the
// client-safe message. Domain errors pass through unchanged.
func translate(err error, what string) error {
	if err == nil {
		return nil
	}
	var de *domain.Error
	if errors.As(err, &de) {
		return err
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return domain.Wrap(domain.KindNotFound, err, what+": not found")
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return domain.Wrap(pgKind(pe), err, what+": "+pgMessage(pe))
	}
	if unavailable(err) {
		return domain.Wrap(domain.KindUnavailable, err, what+": database unavailable")
	}
	return domain.Wrap(domain.KindInternal, err, what)
}

// pgKind maps a server error to a kind by its SQLSTATE.
func pgKind(pe *pgconn.PgError) domain.Kind {
	switch code := pe.Code; {
	case code == codeUniqueViolation:
		return domain.KindConflict
	case code == codeForeignKeyViolation:
		return domain.KindNotFound
	case code == "22001": // string_data_right_truncation
		return domain.KindTooLarge
	case strings.HasPrefix(code, "22"), strings.HasPrefix(code, "23"): // data exceptions, other integrity violations
		return domain.KindInvalid
	case strings.HasPrefix(code, "40"), // serialisation failure, deadlock: the transaction may be retried
		strings.HasPrefix(code, "08"),  // connection exceptions
		strings.HasPrefix(code, "53"),  // insufficient resources (too many connections, disk full)
		strings.HasPrefix(code, "57P"), // the server shuts down or terminated the backend
		code == codeQueryCanceled,      // statement timeout or cancel
		code == codeLockNotAvailable:   // lock timeout
		return domain.KindUnavailable
	}
	return domain.KindInternal
}

// pgMessage is the client-safe description of a server error.
func pgMessage(pe *pgconn.PgError) string {
	switch pgKind(pe) {
	case domain.KindConflict:
		return "already exists"
	case domain.KindNotFound:
		return "a referenced record does not exist"
	case domain.KindInvalid, domain.KindTooLarge:
		return "rejected by the database"
	case domain.KindUnavailable:
		return "database unavailable"
	}
	return "database error"
}

// unavailable reports whether err means the database could not be reached or
// did not answer in time: retrying later may succeed.
func unavailable(err error) bool {
	var (
		netErr     net.Error
		connectErr *pgconn.ConnectError
	)
	return errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, context.Canceled) ||
		errors.Is(err, io.EOF) ||
		errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, net.ErrClosed) ||
		errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, pgconn.ErrConnClosed) ||
		errors.Is(err, puddle.ErrClosedPool) ||
		errors.As(err, &netErr) ||
		errors.As(err, &connectErr) ||
		pgconn.Timeout(err) ||
		pgconn.SafeToRetry(err)
}

// retryable reports whether a transaction failed only because PostgreSQL
// chose it as a deadlock victim or could not serialise it: running it again
// is safe and may succeed.
func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == codeDeadlockDetected || pe.Code == codeSerializationFailure)
}
