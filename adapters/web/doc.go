// Package web serves the messenger's browser client: an HTML page and plain
// JavaScript modules and CSS, embedded in the binary, so every node serves the
// same client and nothing is fetched from elsewhere.
//
// The page is served at GET / and its assets under GET /app/. Every answer
// carries a strict Content-Security-Policy (no inline script, no framing),
// X-Content-Type-Options: nosniff and Referrer-Policy: no-referrer, and an
// ETag: browsers revalidate and get 304 until the binary changes.
//
// A Handler is safe for concurrent use. Mount it whole or register its
// routes on your own mux with Routes; it uses only the standard library.
package web
