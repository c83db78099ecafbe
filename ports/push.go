package ports

import (
	"context"

	"github.com/messenger-go/messenger/domain"
)

// GroupPushNotifications is the consumer group of chat-messages that tells
// offline receivers' devices that messages came.
const GroupPushNotifications = "push-notifications-group"

// DeviceStore keeps users' push devices. All methods are safe for concurrent
// use. A store that also keeps users removes a user's devices in
// UserStore.DeleteUser, in the same transaction.
type DeviceStore interface {
	// SaveDevice registers d. A (platform, token) pair is one device: saving
	// a pair that is registered already replaces that registration (a phone
	// passed to another account is that account's now) and, when it was the
	// same user's, keeps its id; the stored device is returned. A user has at
	// most max devices (max <= 0: no limit). Idempotent for the same d.
	// Errors: KindInvalid, KindConflict (the user has max devices already),
	// KindNotFound (no such user, or deleted), KindUnavailable.
	SaveDevice(ctx context.Context, d domain.Device, max int) (domain.Device, error)
	// DeleteDevice removes user's device id. Errors: KindNotFound (no such
	// device of user's), KindUnavailable.
	DeleteDevice(ctx context.Context, user domain.UserID, id domain.DeviceID) error
	// DevicesOf returns the devices of users in one round trip, oldest first
	// per user; users without devices are absent from the map.
	// Errors: KindUnavailable.
	DevicesOf(ctx context.Context, users []domain.UserID) (map[domain.UserID][]domain.Device, error)
	// ForgetToken removes the device registered with platform and token, if
	// any: the push service said the token is no longer valid. Idempotent.
	// Errors: KindUnavailable.
	ForgetToken(ctx context.Context, platform domain.Platform, token string) error
}

// Pusher sends a notification to a device through its platform's push
// service. Safe for concurrent use. It retries what its service says may
// succeed later, within ctx, before it returns. Errors: KindNotFound when the
// service says the token is no longer valid (the caller forgets the device),
// KindInvalid when the service refused the request for good,
// KindUnavailable when it did not succeed within the adapter's attempts (the
// adapter has dead-lettered it).
type Pusher interface {
	Push(ctx context.Context, d domain.Device, n domain.PushNotification) error
}

// PushMetrics counts push notifications by platform and outcome ("sent",
// "unregistered", "failed", "dropped"), and the messages not told because
// their receiver was online ("receiver_online", no platform). Optional: an App's Metrics that
// implements it is told.
type PushMetrics interface {
	Pushed(platform domain.Platform, outcome string)
}
