// Package webhook is a ports.Pusher that posts each notification as JSON to
// one URL of the deployment, signed with HMAC-SHA256 under a secret of the
// deployment; the receiver (a push gateway of the deployment's own) routes
// by the device's token. Verifier is the receiving side's check, the one
// docs/push.md shows.
package webhook
