// Package websocket is the realtime edge of the messenger: the `GET /ws`
// endpoint (Handler) and the node's registry of live sockets (Hub), which is the
// local ports.Notifier. It speaks the wire contract's JSON envelope
// {"event": ..., "data": ...} over github.com/coder/websocket.
//
// # Sockets
//
// A socket is authenticated before the upgrade (a bearer token in the
// Authorization header or the access_token query parameter) and is answered
// with `registered {userId}` first. Each socket has two goroutines: a reader
// that dispatches incoming frames to ports.Service, and a writer that owns every
// write (data frames, pings, the close frame). Everything the socket must send,
// whether from Hub.Notify or from the reader (replies, errors, resume requests),
// goes through one bounded queue that only the writer drains, so frames leave in
// the order they were queued. A ping's wait for its pong runs beside the writer
// (one ping in flight at a time), so frames never queue behind a round trip.
// One clock per Handler, a goroutine that runs while the handler has sockets,
// asks each writer for its pings, closes sockets whose token expired and drops
// those whose frame write outlasts WriteTimeout, each within a second (a
// quarter of the shorter of PingInterval and WriteTimeout when that is less):
// no timer per socket or per frame.
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
// access token's lifetime); 1009 when a frame exceeds the read limit; a connection that
// does not answer a ping in time, or whose write times out, is dropped without
// a close handshake.
//
// # Sequence tracking, resume and gap policy
//
// The writer of each socket remembers, per conversation it has sent messages
// of, the highest sequence it sent. For a live `newMessage`:
//
//   - a sequence at or below the highest sent is a duplicate and is dropped;
//   - the next sequence is sent;
//   - a sequence further ahead means events were lost on the way (a dropped
//     pub/sub hop, an overflow upstream): the writer first fetches the missing
//     range with Service.History and sends it, then the live message. If the
//     fetch fails the live message is sent anyway and the client, seeing the
//     jump, resumes;
//   - the first message of a conversation the socket has no record of is sent
//     as is and starts the record.
//
// `resume {conversations: {conversationId: lastSequenceId}}` is executed by the
// writer itself: for each conversation it sends every message after
// lastSequenceId, page after page, before anything else queued. Live messages
// that arrive meanwhile wait in the queue and are then filtered by the rules
// above, so the switch from replay to live loses and repeats nothing. Until a
// new socket's first resume (an empty one included) arrives, or
// HandlerConfig.ResumeGrace passes (default 1 s, counted from when
// `registered` was written), live newMessage frames are held back, so a
// reconnecting client that resumes right away (it may send `resume` before
// reading `registered`) gets its replay before anything newer. A later resume
// sends only what this socket has not sent: the messages between the client's
// cursor and the first one the socket sent live (these arrive after newer
// ones; clients place messages by sequenceId), then everything after the
// highest sent. Nothing is sent twice. A replay long enough for live traffic to fill the
// queue ends in the overflow close above; the client resumes from its new cursor.
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
