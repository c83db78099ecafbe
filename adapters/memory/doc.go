// Package memory implements every driven port in process memory: the stores
// (Store), the message log (Log), presence (Presence), the unread cache
// (UnreadCache) and the rate limiter (RateLimiter).
//
// It is the embedded default of the server and the fake that app tests use, so
// it keeps the guarantees of the real adapters: it passes the same contract
// suites in ports/portstest. Nothing survives the process. Every type is safe
// for concurrent use.
package memory
