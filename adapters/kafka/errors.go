package kafka

import (
	"context"
	"errors"

	ckafka "github.com/confluentinc/confluent-kafka-go/v2/kafka"

	"github.com/messenger-go/messenger/domain"
)

// translate gives err, from librdkafka or a context, a domain kind:
// a record over the size limit is KindTooLarge, an unknown or illegal topic is
// KindInvalid, and everything else (timeouts, broker transport, a client that
// is closing) is KindUnavailable, since retrying later may succeed.
func translate(err error, msg string) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return domain.Wrap(domain.KindUnavailable, err, msg)
	}
	var kerr ckafka.Error
	if !errors.As(err, &kerr) {
		return domain.Wrap(domain.KindUnavailable, err, msg)
	}
	switch kerr.Code() {
	case ckafka.ErrMsgSizeTooLarge, ckafka.ErrRecordListTooLarge:
		return domain.Wrap(domain.KindTooLarge, err, msg+": record too large")
	case ckafka.ErrUnknownTopic, ckafka.ErrUnknownTopicOrPart, ckafka.ErrTopicException, ckafka.ErrUnknownPartition:
		return domain.Wrap(domain.KindInvalid, err, msg+": unknown topic")
	case ckafka.ErrTopicAuthorizationFailed, ckafka.ErrGroupAuthorizationFailed, ckafka.ErrClusterAuthorizationFailed:
		return domain.Wrap(domain.KindInternal, err, msg+": not authorized")
	case ckafka.ErrInvalidArg, ckafka.ErrInvalidConfig:
		return domain.Wrap(domain.KindInvalid, err, msg)
	default:
		return domain.Wrap(domain.KindUnavailable, err, msg)
	}
}

// isFatal reports whether err leaves the client that returned it unusable.
func isFatal(err error) bool {
	var kerr ckafka.Error
	return errors.As(err, &kerr) && (kerr.IsFatal() || kerr.Code() == ckafka.ErrFatal)
}

// isStale reports whether err says a record waited in the producer for the
// whole delivery timeout (message.timeout.ms) without an acknowledgement.
func isStale(err error) bool {
	var kerr ckafka.Error
	return errors.As(err, &kerr) && kerr.Code() == ckafka.ErrMsgTimedOut
}
