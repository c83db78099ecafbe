// Package realtime is what every real-time transport shares, so that no rule
// is written twice: the node's registry of live sockets (Hub, the local
// ports.Notifier, which keeps Presence up to date), and one socket's half
// that is not about framing (Socket): its bounded queue and overflow policy,
// its writer, its domain.Delivery (resume, replay before live, gap fill),
// its heartbeat and token expiry, and the dispatch of client events to
// ports.Service. A transport (adapters/websocket for /ws, adapters/socketio
// for /socket.io/) authenticates, decodes frames, embeds a Socket in its
// connection and implements Transport: write a frame, ping, close with a
// reason.
//
// It imports only the standard library, domain, ports and wire.
//
// # Sockets
//
// Everything a socket must send, whether from Hub.Notify or from its reader
// (replies, errors, resume requests), goes through one bounded queue that
// only the socket's writer drains, so frames leave in the order they were
// queued. The writer is a goroutine only while there is work (frames
// queued, a ping due, the end of a resume's hold, a close): an idle socket
// costs its transport's reader alone. A transport that implements Flusher
// has each batch the writer takes sent in as few system calls as its
// protocol allows. A ping's wait for its answer runs beside the writer (one ping in
// flight at a time), so frames never queue behind a round trip. One clock per
// Endpoint, a goroutine that runs while the endpoint has sockets, asks each
// writer for its pings, closes sockets whose token expired (CloseExpired)
// and drops those whose frame write outlasts WriteTimeout or from which
// nothing (no frame, no answer to a ping) came for ReadTimeout, each within
// a second (a quarter of the shorter of PingInterval and WriteTimeout when
// that is less): no timer per socket or per frame. The clock's times are
// monotonic stamps: a step of the system's time moves no deadline.
//
// # Limits
//
// Each transport's reader hands every frame the client sends to
// Socket.Receive before decoding it: frames within Timing.FrameLimit
// (wire.FrameLimiter) are served, those beyond are dropped and the client
// warned with `error` (code rate_limited) at most once a second, and a
// client that goes on past the tolerance is closed with CloseRateLimited
// (1008), its reader told to stop. A user holds at most
// HubConfig.MaxSocketsPerUser sockets on a node, of every transport
// together; a new one beyond the cap closes the user's oldest with
// CloseReplaced (4009).
//
// # Overflow policy
//
// Hub.Notify never blocks: it encodes an event once (NewFrame, whose bytes
// every transport frames without copying) and offers it to the queue of
// every socket of every target user, of any transport. When a socket's queue
// is full, that socket is closed with CloseTooSlow; the frames still queued
// are dropped. Other sockets are not affected. The client reconnects and
// sends `resume` with its last sequence per conversation, and gets every
// message it missed from the MessageStore. Events other than messages
// (typing, receipts, friend events) are not recovered; they are ephemeral or
// can be re-read through the REST API.
//
// Hub.Shutdown closes every socket with CloseShutdown; a socket whose token
// expires is closed with CloseExpired, so a socket lives no longer than its
// token.
//
// # Sequence tracking, resume and gap policy
//
// The writer of each socket drives the socket's domain.Delivery, the
// per-device delivery state; its doc has the rules. In short, per
// conversation: the next sequence is sent; a gap is filled from
// Service.History first (if that fails the live message goes out anyway and
// the client, seeing the jump, resumes); a repeat is dropped; and a message
// under a sequence the socket sent under another messageId is delivered all
// the same, logged at Error level and counted (Hub.SequenceReuses), since
// clients deduplicate by messageId.
//
// `resume {conversations: {conversationId: lastSequenceId}}` is executed by
// the writer itself: for each conversation it sends every message after
// lastSequenceId, page after page, before anything else queued, so the switch
// from replay to live loses and repeats nothing. A later resume sends only
// what this socket has not sent. A cursor above the store's highest sequence
// is answered with `resync {conversationId, lastSequenceId}`.
//
// A socket whose client announced a resume (Init's hold) holds back live
// newMessage frames until the resume arrives or Config.ResumeGrace passes
// (counted from when `registered` was written); more than HubConfig.QueueSize
// of them held close the socket as an overflow does. A client that announced
// none gets live messages at once; it may still send `resume` later.
//
// # Client events
//
// Dispatch serves typing, joinChat (answered by chatRegistered), ack and
// resume; failures are answered with `error` and the socket stays open. A
// transport with acknowledgements passes an Ack, which hears the answer.
//
// # Presence
//
// The Hub records in ports.Presence that this node holds sockets of a user
// when the user's first socket opens, before `registered` is written, so that
// a client that read it misses nothing another node sends from then on; it
// removes the record when the last one
// closes, and refreshes the records of all local users every heartbeat so that
// the records of a crashed node expire. Presence errors are logged and never
// fail a connection: routing degrades, and clients recover by sequence.
//
// Hub, Endpoint and Socket are safe for concurrent use.
package realtime
