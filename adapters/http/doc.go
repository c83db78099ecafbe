// Package http serves the messenger's REST API (DESIGN.md section 6) on a
// net/http ServeMux: accounts, friends, messages, the JWKS, health, readiness
// and metrics. It calls the use cases only through ports.Service.
//
// Besides the wire contract's endpoints it offers
//
//	POST /friends/block   {"friendId": id} -> 200 {"friendship": {...}} (status "blocked")
//	POST /friends/unblock {"friendId": id} -> 204
//
// Every error is {"error": {"code", "message"}} with the status of one table
// (wire.Status); internal errors are logged and shown as a generic message.
// Request bodies are JSON objects; unknown fields are ignored for forward
// compatibility, but invalid JSON, wrong types and trailing data are rejected
// (400), and bodies above the configured limit are refused (413).
//
// A Handler is safe for concurrent use. Mount it whole (it is an http.Handler)
// or register its routes on your own mux with Routes.
package http
