// Package memory implements every driven port in process memory: the stores
// (Store), the message log (Log), presence (Presence), the unread cache
// (UnreadCache), the rate limiter (RateLimiter) and the throttle of failed
// logins and registrations (Throttle).
//
// It is the embedded default of the server and the fake that app tests use, so
// it keeps the guarantees of the real adapters: it passes the same contract
// suites in ports/portstest. Nothing survives the process. Every type is safe
// for concurrent use.
package memory
