// Package websocket is the `GET /ws` endpoint of the messenger (Handler): it
// speaks the wire contract's JSON envelope {"event": ..., "data": ...} over
// github.com/coder/websocket. What every real-time transport shares (the
// node's registry of sockets, the bounded queue and its overflow policy, the
// writer, resume and gap fill, heartbeats, token expiry, the dispatch of
// client events) lives in package realtime; this package authenticates,
// upgrades, reads and decodes frames, and writes and closes the connection.
//
// # Sockets
//
// A socket is authenticated before the upgrade (a bearer token in the
// Authorization header or the access_token query parameter, read by
// wire.BearerToken; refusals are the REST API's error bodies) and is answered
// with `registered {userId}` first. Incoming frames are decoded by
// wire.DecodeFrame: a frame that is not valid UTF-8, holds NUL, or does not
// decode is answered with `error` (code invalid) and the socket stays open.
// Each socket has a reader goroutine that hands incoming frames to
// realtime.Socket.Dispatch; the realtime writer, which owns every write (data
// frames, pings, the close frame), runs only while there is something to
// write. The frames of one batch of the writer leave in one system call
// (wire.CorkConn). Pings are WebSocket pings.
// The deadlines the HTTP server set on the connection for the upgrade
// request are cleared once it is hijacked; the realtime clock bounds reads
// (ReadTimeout: nothing, no frame and no pong, heard for that long drops the
// connection) and writes from then on.
//
// # Limits
//
// Each socket's reader serves incoming frames within HandlerConfig.FrameLimit
// (wire.FrameLimiter, applied by realtime.Socket.Receive; 20 a second,
// bursts of 50, by default). Frames beyond it are dropped unserved, and the
// client is told with `error` (code rate_limited) at most once a second; a
// client that goes on sending more than twice the rate, until another
// burst's worth is refused, is closed with 1008 (policy violation, reason
// "too many frames"), and its socket stops reading at once.
//
// A user holds at most realtime.HubConfig.MaxSocketsPerUser sockets on a node
// (10 by default), whatever their transport. A new socket beyond the cap is
// accepted and the user's oldest is closed with 4009 (reason "too many
// sockets: replaced by a newer one of this user"): the newest socket is the
// one in use, and neither a stale socket nor a leaking client locks its user
// out. Clients should not reconnect on their own after 4009 or 1008.
// HandlerConfig.Opens limits how often a user opens sockets over /ws; a
// refusal is 429 before the upgrade, held back RefusalDelay, so a client
// closed for flooding cannot come back at once with a fresh budget. The
// kernel's receive buffer of each connection is capped at two frames of the
// largest size.
//
// # Close codes
//
// The realtime package's closes map to WebSocket close codes: 1013
// (StatusTryAgainLater, reason "reconnect: client too slow") when the
// socket's queue overflowed; 1001 (StatusGoingAway, "server shutting down,
// reconnect") on Hub.Shutdown; 4001 ("access token expired: refresh it and
// reconnect") when the token the socket was opened with expires, so a socket
// lives no longer than its token; 1009 when a frame exceeds the read limit;
// 1008 and 4009 as above (Limits); a connection that does not answer a ping
// in time, sends nothing for ReadTimeout, or whose write times out, is
// dropped without a close handshake. After a close with a reconnect
// code the client reconnects and sends `resume` with its last sequence per
// conversation (see package realtime for the resume and gap policy).
//
// A client announces that it will resume with the query parameter resume=1
// (`/ws?access_token=...&resume=1`) and then sends `resume`, an empty one if
// it has no cursor. Until it arrives, or HandlerConfig.ResumeGrace passes
// (default 1 s, counted from when `registered` was written), live newMessage
// frames are held back. A client that does not announce one (resume absent or
// 0) gets live messages at once; it may still send `resume` later.
//
// Handler is safe for concurrent use.
package websocket
