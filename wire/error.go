package wire

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/messenger-go/messenger/domain"
)

// answer is how the transports answer one error kind.
type answer struct {
	status int // HTTP status
	close  int // WebSocket close code, when the error ends a socket
}

// answers is the one list every transport's error answers come from, indexed
// by kind. The close codes are the standard ones where one fits, and otherwise
// 4000 plus the HTTP status's last two digits (4001 also tells a socket whose
// token expired to refresh it and reconnect).
var answers = [...]answer{
	domain.KindInternal:        {http.StatusInternalServerError, 1011},
	domain.KindInvalid:         {http.StatusBadRequest, 1008},
	domain.KindUnauthenticated: {http.StatusUnauthorized, 4001},
	domain.KindForbidden:       {http.StatusForbidden, 4003},
	domain.KindNotFound:        {http.StatusNotFound, 4004},
	domain.KindConflict:        {http.StatusConflict, 4009},
	domain.KindTooLarge:        {http.StatusRequestEntityTooLarge, 1009},
	domain.KindRateLimited:     {http.StatusTooManyRequests, 4029},
	domain.KindUnavailable:     {http.StatusServiceUnavailable, 1013},
}

// known maps a kind outside the list to KindInternal.
func known(k domain.Kind) domain.Kind {
	if int(k) < len(answers) {
		return k
	}
	return domain.KindInternal
}

// Status is the HTTP status that answers an error of kind k.
func Status(k domain.Kind) int { return answers[known(k)].status }

// CloseCode is the WebSocket close code of a socket ended by an error of kind k.
func CloseCode(k domain.Kind) int { return answers[known(k)].close }

// Describe is the client-safe form of err, the data of an error body or
// event: its kind's code and message. Internal errors, and errors of a kind
// outside the list, read "internal error"; their causes are for logs only.
func Describe(err error) domain.ErrorPayload {
	k := domain.KindOf(err)
	if known(k) != k || k == domain.KindInternal {
		return domain.ErrorPayload{Code: domain.KindInternal.String(), Message: "internal error"}
	}
	return domain.ErrorPayload{Code: k.String(), Message: domain.MessageOf(err)}
}

// ErrorEvent is err as the error event of a socket.
func ErrorEvent(err error) domain.Event {
	return domain.Event{Name: domain.EventError, Data: Describe(err)}
}

// SendError is the data of the error event that answers a socket's send:
// the error's code and message, and the send's clientMessageId.
type SendError struct {
	domain.ErrorPayload
	ClientMessageID string `json:"clientMessageId"`
}

// SendErrorEvent is err as the error event that answers the send of
// clientMessageID.
func SendErrorEvent(err error, clientMessageID string) domain.Event {
	return domain.Event{Name: domain.EventError, Data: SendError{ErrorPayload: Describe(err), ClientMessageID: clientMessageID}}
}

// retryAfterer is implemented by errors that know when a retry may succeed,
// such as a rate limit's.
type retryAfterer interface {
	RetryAfter() time.Duration
}

// defaultRetryAfter is announced with a 429 or 503 whose error does not say.
const defaultRetryAfter = time.Second

// WriteHTTPError answers err with its kind's status and the body
// {"error": {"code", "message"}}, plus Retry-After on 429 and 503 and
// WWW-Authenticate on 401. Logging is the caller's.
func WriteHTTPError(w http.ResponseWriter, err error) {
	status := Status(domain.KindOf(err))
	hdr := w.Header()
	switch status {
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		wait := defaultRetryAfter
		var ra retryAfterer
		if errors.As(err, &ra) && ra.RetryAfter() > 0 {
			wait = ra.RetryAfter()
		}
		hdr.Set("Retry-After", strconv.FormatInt(int64((wait+time.Second-1)/time.Second), 10))
	case http.StatusUnauthorized:
		hdr.Set("WWW-Authenticate", "Bearer")
	}
	body, _ := json.Marshal(map[string]domain.ErrorPayload{"error": Describe(err)}) // strings only: never fails
	hdr.Set("Content-Type", "application/json; charset=utf-8")
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}
