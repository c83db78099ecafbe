// Package load drives messenger servers with real clients: it creates users in
// friend pairs, holds a WebSocket per user, sends over HTTP on an open-loop
// schedule, and matches every newMessage frame to the send it belongs to. It
// also samples the servers' /metrics and /proc while it runs.
//
// A Bench is used by one goroutine: Setup, then Step as often as wanted, then
// Close. Its own goroutines (socket readers, senders, the sampler) end in
// Close.
package load
