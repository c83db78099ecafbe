// Package server is the messenger binary: configuration from the environment,
// the choice of adapters, and the process lifecycle. Only cmd/messenger uses it.
package server
