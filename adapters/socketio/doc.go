// Package socketio is the `/socket.io/` endpoint of the messenger (Handler),
// for the clients of the guide, which speak Socket.IO (socket.io-client in
// JavaScript, socket_io_client in Flutter): Engine.IO protocol 4 with its
// two transports, HTTP long-polling and WebSocket, and the upgrade from the
// first to the second; Socket.IO protocol 5 on the default namespace, text
// packets only. The events are those of `/ws`, by the same names and
// payloads, as Socket.IO events 42["name", data].
//
// It is a transport of package realtime, like adapters/websocket: the
// node's Hub delivers to both kinds of socket, and the queue, its overflow
// policy, resume and gap fill, heartbeats, token expiry and the dispatch of
// client events are realtime's. This package parses and frames packets,
// keeps the Engine.IO sessions and their transports, and authenticates the
// Socket.IO connect.
//
// # Why not a library
//
// The Socket.IO servers for Go keep their own per-socket write buffers
// (unbounded), rooms and adapters, so that the hub's bounded queue, its
// overflow policy and the per-device delivery state could not own a socket's
// writes; and the maintained one (github.com/zishang520/socket.io) brings
// some twenty modules (QUIC and WebTransport among them) into the build.
// The subset the clients use is small and written from the protocol
// specifications.
//
// # Sessions
//
// A handshake (`GET /socket.io/?EIO=4&transport=polling`, or
// `transport=websocket`) opens a session, answered with the Engine.IO open
// packet: its id (sid, "<node>.<random>", so that a proxy can route the
// session's long-polling requests to this node), the upgrades, pingInterval,
// pingTimeout and maxPayload (HandlerConfig.ReadLimit). The client then
// connects the default namespace (`40`, with auth {token, resume}); the
// token is auth.token, or else the handshake's Authorization header or
// access_token query parameter. A missing or bad token is refused with a
// connect error, `44{"message", "data": {code, message}}`, and the session
// stays open for another try until ConnectTimeout. A connected socket gets
// `40{"sid"}` and then `registered`, like /ws.
//
// A client announces a resume with `auth.resume: true` or the handshake's
// `resume=1`; live messages then wait for its `resume` (see realtime), and a
// client that announces none never waits.
//
// Events are answered as on /ws; a client that asks for an acknowledgement
// (`421["send", {...}]`) also gets one, `431[data]`, whose argument is the
// data of the event that answered (sendResult's, chatRegistered's, or
// error's, which has a code), or no argument for an event served without an
// answer (typing, ack, resume; a resume's comes after its replay).
//
// # Heartbeat, limits and closes
//
// The server pings (`2`) every PingInterval and the client answers (`3`)
// within PingTimeout, or the session is dropped. A WebSocket message or a
// long-polling POST over ReadLimit ends the session (1009, or 413); so does
// a packet that is not Engine.IO, or a second long-polling GET while one
// waits. Bad Socket.IO input (a malformed event, an unknown one, bad data)
// is answered with `error` and the socket stays open.
//
// The realtime closes are announced with an `error` event {code, message}
// before the transport closes. After a close for a slow consumer (1013) or
// a shutdown (1001) socket.io-client reconnects by itself, and then resumes.
// A close with an application code (4001, the token expired) is also a
// Socket.IO disconnect (`41`), after which the client does not reconnect by
// itself: it refreshes its token, sets it in auth and connects again.
//
// # Several nodes
//
// A long-polling session lives on the node that opened it. Behind a load
// balancer its requests must reach that node: deploy/nginx.conf routes
// `/socket.io/` requests by the node named in their sid, and the handshake
// (no sid yet) to any node. WebSocket sessions need nothing of the kind.
//
// Handler is safe for concurrent use.
package socketio
