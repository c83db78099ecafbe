// Package wire holds what every transport of the wire contract shares, so
// that no rule is written twice: the answer to each error kind (HTTP status,
// WebSocket close code, the code of an error body or event), the bearer-token
// parser, the decoding of client frames, envelope and payloads, and the
// budget of incoming frames per socket (FrameLimiter).
//
// It imports only the standard library and domain; the http and websocket
// adapters (and any later transport) import it. Everything here is safe for
// concurrent use, except a FrameLimiter, which belongs to one socket's reader.
package wire
