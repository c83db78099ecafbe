// Command msgbench is the messenger's load generator. It creates users in
// friend pairs on one or more servers, holds a WebSocket per user, sends
// messages over HTTP at fixed rates (open loop, latency counted from each
// message's intended send time), and reports send and end-to-end delivery
// latency, throughput, errors by kind, lost, duplicated and out-of-order
// messages, consumer lag, sockets held, and server CPU per message and memory
// per socket.
//
//	msgbench -targets http://127.0.0.1:3101 -users 1000 -rates 1000,2000,5000 -duration 60s -json out.json -svg out.svg
//	msgbench -conns-only -users 50000 -client-procs 3 -source-ips 127.0.0.2-127.0.0.5 -key key.pem -targets ...
//	msgbench report -o report.md run1.json run2.json
//
// scripts/bench.sh runs the whole ladder against the embedded default and the
// real stack; see `make bench`.
package main
