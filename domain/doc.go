// Package domain holds the messenger's types and rules: user and conversation
// identities, messages and their validation, per-conversation sequencing, the
// friendship state machine, wire events, and the error vocabulary every other
// package speaks.
//
// It imports only the standard library. Values are plain data and safe to share
// between goroutines once built; nothing here holds state or does I/O.
package domain
