// Package redis implements the messenger's Redis-backed ports with go-redis:
// Presence (which nodes hold a user's sockets), Fanout (a ports.Notifier that
// routes events to those nodes over pub/sub, plus the subscriber loop that
// hands them to the local WebSocket hub), UnreadCache, RateLimiter and
// Throttle (failed logins and registrations, counted across the nodes).
//
// A Client connects either to one address or, in production, through Redis
// Sentinel, following the master across failovers by itself. Every call is
// bounded by short timeouts and a failed call returns a domain.KindUnavailable
// error quickly instead of hanging a request; callers treat Redis as advisory
// (presence and pub/sub are at-most-once, the cache is never the source of
// truth, a limiter outage fails open).
//
// Redis holds no sequence numbers and no offline messages: Postgres is the
// authority for both.
//
// Every key and channel starts with Config.KeyPrefix:
//
//	{prefix}user_socket:{userId}   sorted set, node -> expiry (unix ms); key TTL 24 h
//	{prefix}unread_count:{userId}  JSON of domain.UnreadCounts; TTL 60 s
//	{prefix}rate_limit:{key}       GCRA state of go-redis/redis_rate
//	{prefix}throttle:{key}         hash {count, last, until, window}; TTL the window
//	{prefix}node:{nodeId}          pub/sub channel of one node
//
// All types are safe for concurrent use.
package redis
