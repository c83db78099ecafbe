// Drives real socket.io-client sockets for the Go tests, over a line
// protocol: one JSON command a line on stdin, one JSON report a line on
// stdout. Every report names the socket it concerns (id).
//
// Commands:
//   {"cmd":"connect","id","url","transports"?,"auth"?,"query"?,"headers"?,"reconnection"?}
//   {"cmd":"emit","id","event","data","ack"?}   ack: a tag; the acknowledgement is reported with it
//   {"cmd":"auth","id","auth"}                  the auth of the next (re)connect
//   {"cmd":"drop","id"}                         closes the transport under the socket, as a lost network does
//   {"cmd":"reconnect","id"}                    connects a disconnected socket again
//   {"cmd":"disconnect","id"}                   leaves, as socket.disconnect() does
// Reports:
//   {"type":"ready"}
//   {"id","type":"connect","transport","engine"}
//   {"id","type":"upgrade","transport"}
//   {"id","type":"connect_error","message","data"}
//   {"id","type":"disconnect","reason"}
//   {"id","type":"event","event","data"}
//   {"id","type":"ack","tag","args"}
//   {"type":"error","message"}                  a command the driver could not run
import { createInterface } from "node:readline";
import { io } from "socket.io-client";

const sockets = new Map();
const report = (r) => process.stdout.write(JSON.stringify(r) + "\n");

function connect(c) {
  const socket = io(c.url, {
    path: "/socket.io/",
    transports: c.transports ?? ["polling", "websocket"],
    auth: c.auth ?? {},
    query: c.query ?? {},
    extraHeaders: c.headers ?? {},
    reconnection: c.reconnection ?? false,
    reconnectionDelay: 50,
    reconnectionDelayMax: 200,
    randomizationFactor: 0,
    timeout: 10000,
    forceNew: true,
  });
  sockets.set(c.id, socket);
  socket.io.on("open", () => {
    socket.io.engine.on("upgrade", (t) => report({ id: c.id, type: "upgrade", transport: t.name }));
  });
  socket.on("connect", () =>
    report({ id: c.id, type: "connect", transport: socket.io.engine.transport.name, engine: socket.io.engine.id }),
  );
  socket.on("connect_error", (err) => report({ id: c.id, type: "connect_error", message: err.message, data: err.data ?? null }));
  socket.on("disconnect", (reason) => report({ id: c.id, type: "disconnect", reason }));
  socket.onAny((event, data) => report({ id: c.id, type: "event", event, data: data ?? null }));
}

function run(c) {
  if (c.cmd === "connect") {
    connect(c);
    return;
  }
  const socket = sockets.get(c.id);
  if (!socket) {
    throw new Error(`no socket ${c.id}`);
  }
  switch (c.cmd) {
    case "emit":
      if (c.ack === undefined) {
        socket.emit(c.event, c.data);
      } else {
        socket.emit(c.event, c.data, (...args) => report({ id: c.id, type: "ack", tag: c.ack, args }));
      }
      break;
    case "auth":
      socket.auth = c.auth;
      break;
    case "drop":
      socket.io.engine.close();
      break;
    case "reconnect":
      socket.connect();
      break;
    case "disconnect":
      socket.disconnect();
      break;
    default:
      throw new Error(`unknown command ${c.cmd}`);
  }
}

const lines = createInterface({ input: process.stdin });
lines.on("line", (line) => {
  try {
    run(JSON.parse(line));
  } catch (err) {
    report({ type: "error", message: String(err) });
  }
});
lines.on("close", () => {
  for (const socket of sockets.values()) {
    socket.disconnect();
  }
  process.exit(0);
});
report({ type: "ready" });
