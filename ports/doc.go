// Package ports declares the interfaces between the messenger's use cases and
// the world: the driven ports the use cases need (stores, the message log,
// presence, notification, caches, tokens, passwords, time) and the driving port
// (Service) that the use cases implement and the HTTP and WebSocket adapters call.
//
// Each method documents its guarantees: ordering, idempotency, delivery, whether
// it is safe for concurrent use, and the domain error kinds it returns. Every
// implementation must pass the matching suite in ports/portstest.
package ports
