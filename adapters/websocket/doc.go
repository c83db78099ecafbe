// Package websocket is the realtime edge of the messenger: the `GET /ws`
// endpoint (Handler) and the node's registry of live sockets (Hub), which is the
// local ports.Notifier. It speaks the wire contract's JSON envelope
// {"event": ..., "data": ...} over github.com/coder/websocket.
//
// # Sockets
//
// A socket is authenticated before the upgrade (a bearer token in the
// Authorization header or the access_token query parameter, read by
// wire.BearerToken; refusals are the REST API's error bodies) and is answered
// with `registered {userId}` first. Incoming frames are decoded by
// wire.DecodeFrame: a frame that is not valid UTF-8, holds NUL, or does not
// decode is answered with `error` (code invalid) and the socket stays open. Each socket has two goroutines: a reader
// that dispatches incoming frames to ports.Service, and a writer that owns every
// write (data frames, pings, the close frame). Everything the socket must send,
// whether from Hub.Notify or from the reader (replies, errors, resume requests),
// goes through one bounded queue that only the writer drains, so frames leave in
// the order they were queued. A ping's wait for its pong runs beside the writer
// (one ping in flight at a time), so frames never queue behind a round trip.
// One clock per Handler, a goroutine that runs while the handler has sockets,
// asks each writer for its pings, closes sockets whose token expired and drops
// those whose frame write outlasts WriteTimeout or from which nothing (no
// frame, no pong) came for ReadTimeout, each within a second (a quarter of
// the shorter of PingInterval and WriteTimeout when that is less): no timer
// per socket or per frame. The deadlines the HTTP server set on the
// connection for the upgrade request are cleared once it is hijacked.
//
// # Limits
//
// Each socket's reader serves incoming frames within HandlerConfig.FrameLimit
// (wire.FrameLimiter; 20 a second, bursts of 50, by default). Frames beyond
// it are dropped unserved, and the client is told with `error` (code
// rate_limited) at most once a second; a client that goes on sending more
// than twice the rate, until another burst's worth is refused, is closed with
// 1008 (policy violation, reason "too many frames").
//
// A user holds at most HubConfig.MaxSocketsPerUser sockets on a node (10 by
// default). A new socket beyond the cap is accepted and the user's oldest is
// closed with 4009 (reason "too many sockets: replaced by a newer one of this
// user"): the newest socket is the one in use, and neither a stale socket nor
// a leaking client locks its user out. Clients should not reconnect on their
// own after 4009 or 1008. HandlerConfig.Opens limits how often a user opens
// sockets; a refusal is 429 before the upgrade, held back RefusalDelay, so a
// client closed for flooding cannot come back at once with a fresh budget.
// The kernel's receive buffer of each connection is capped at two frames of
// the largest size.
//
// # Overflow policy
//
// Hub.Notify never blocks: it encodes an event once and offers it to the queue
// of every socket of every target user. When a socket's queue is full, that
// socket is closed with status 1013 (StatusTryAgainLater, reason "reconnect:
// client too slow"); the frames still queued are dropped. Other sockets are not
// affected. The client reconnects and sends `resume` with its last sequence per
// conversation, and gets every message it missed from the MessageStore. Events
// other than messages (typing, receipts, friend events) are not recovered;
// they are ephemeral or can be re-read through the REST API.
//
// Other close codes: 1001 (StatusGoingAway, "server shutting down, reconnect")
// on Hub.Shutdown; 4001 ("access token expired: refresh it and reconnect") when
// the token the socket was opened with expires, so a socket lives no longer
// than its token (a logged-out or disabled user stops receiving within the
// access token's lifetime); 1009 when a frame exceeds the read limit; 1008
// and 4009 as above (Limits); a connection that does not answer a ping in
// time, sends nothing for ReadTimeout, or whose write times out, is dropped
// without a close handshake.
//
// # Sequence tracking, resume and gap policy
//
// The writer of each socket drives the socket's domain.Delivery, the
// per-device delivery state that every transport shares; its doc has the
// rules. In short, per conversation: the next sequence is sent; a gap is
// filled from Service.History first (if that fails the live message goes out
// anyway and the client, seeing the jump, resumes); a repeat is dropped; and
// a message under a sequence the socket sent under another messageId is
// delivered all the same, logged at Error level and counted
// (Hub.SequenceReuses), since clients deduplicate by messageId.
//
// `resume {conversations: {conversationId: lastSequenceId}}` is executed by
// the writer itself: for each conversation it sends every message after
// lastSequenceId, page after page, before anything else queued, so the switch
// from replay to live loses and repeats nothing. A later resume sends only
// what this socket has not sent: the messages between the client's cursor and
// the first one the socket sent live (these arrive after newer ones; clients
// place messages by sequenceId), then everything after the highest sent. A
// replay long enough for live traffic to fill the queue ends in the overflow
// close above; the client resumes from its new cursor.
//
// A cursor above the store's highest sequence (a database restored from a
// backup, sequences issued again after a crash, a client bug) is not taken as
// sent: the socket answers `resync {conversationId, lastSequenceId}`, and the
// client drops what it cached of that conversation and takes lastSequenceId,
// the store's position, as its cursor. Every later message of the
// conversation goes out.
//
// A client announces that it will resume with the query parameter resume=1
// (`/ws?access_token=...&resume=1`) and then sends `resume`, an empty one if
// it has no cursor. Until it arrives, or HandlerConfig.ResumeGrace passes
// (default 1 s, counted from when `registered` was written), live newMessage
// frames are held back, so a reconnecting client gets its replay before
// anything newer; more than HubConfig.QueueSize of them held close the socket
// as an overflow does. A client that does not announce one (resume absent or
// 0) gets live messages at once; it may still send `resume` later.
//
// A replay or gap fill reads HandlerConfig.ReplayPageSize messages per
// History call (default domain.MaxPageLimit) with the socket's own user as the
// caller, so a resume of someone else's conversation answers `error` with code
// forbidden and the other conversations of the request still replay.
//
// # Presence
//
// The Hub records in ports.Presence that this node holds sockets of a user
// when the user's first socket opens, removes the record when the last one
// closes, and refreshes the records of all local users every heartbeat so that
// the records of a crashed node expire. Presence errors are logged and never
// fail a connection: routing degrades, and clients recover by sequence.
//
// Hub and Handler are safe for concurrent use.
package websocket
