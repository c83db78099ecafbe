// Package fcm is a ports.Pusher for Firebase Cloud Messaging's HTTP v1 API:
// POST {Endpoint}/v1/projects/{project}/messages:send with an OAuth2 access
// token got by the service account's signed JWT (golang.org/x/oauth2/google,
// which caches and renews it). An UNREGISTERED answer tells the caller to
// forget the device.
package fcm
