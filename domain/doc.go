// Package domain holds the messenger's types and rules: user and conversation
// identities, messages and their validation, per-conversation sequencing, the
// friendship state machine, wire events, the per-device delivery rules
// (Delivery), and the error vocabulary every other package speaks.
//
// It imports only the standard library. Values are plain data and safe to share
// between goroutines once built; nothing here does I/O of its own. The one
// stateful type, Delivery, is driven by one goroutine and reaches history and
// the device through the interface its caller passes.
package domain
