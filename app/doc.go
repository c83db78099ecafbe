// Package app implements the messenger's use cases (ports.Service) on top of the
// driven ports, and the handlers of the message log's consumer groups.
//
// An App is safe for concurrent use. It holds no goroutines of its own: the
// consumers run inside RunConsumers and the presence announcements inside
// RunPresence, owned by the caller's context.
package app
