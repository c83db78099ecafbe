// Package client is a Go client of the messenger's wire contract: the REST API
// and the WebSocket. Integration suites, the load generator and Go programs
// that talk to a messenger server use it.
//
// A Client is safe for concurrent use once its token is set; a Conn has one
// reader (Next) and any number of writers (Send).
package client
