// Command msgbench is the messenger's load generator. It creates users in
// friend pairs on one or more servers, holds a WebSocket per user, sends
// messages over HTTP at fixed rates, and reports what a user would notice and
// what it costs.
//
//	msgbench -targets http://127.0.0.1:3101,http://127.0.0.1:3102 -key testdata/jwt-test-key.pem \
//	    -users 1000 -rates 1000,2000,5000 -rate-step 2500 -duration 60s -warmup 10s \
//	    -server-pids 123,124 -watch postgres=200,kafka=300 -json run.json -svg run.svg
//	msgbench -conns-only -users 50000 -client-procs 3 -source-ips 127.0.0.2-127.0.0.9 \
//	    -key testdata/jwt-test-key.pem -targets ... -server-pids ...
//	msgbench report -o report.md run1.json run2.json
//
// What it measures, per step (a rate held for -warmup, then -duration):
//
//   - Send latency: from each message's intended send time to its 202. The
//     schedule is open loop (message i is due at start + i/rate whatever
//     happened before), so a slow server cannot hide its delay by slowing
//     the sender down.
//   - Delivery latency: from the intended send time to the newMessage frame
//     on the receiver's socket, matched by clientMessageId.
//   - Accepted/s and delivered/s: answers and first deliveries inside the
//     measured window; errors by kind.
//   - Integrity, warm-up included, after a drain: lost (answered 202, never
//     delivered to the receiver), duplicated (a sequence seen twice on one
//     socket), out of order (a sequence after a higher one on one socket),
//     and, over the run, sequence numbers missing on receivers.
//   - Consumer lag of message-delivery-group, scraped from every server's
//     /metrics (on -metrics-targets, their metrics listeners) each second;
//     the servers' own socket count.
//   - CPU and memory from /proc: of the -server-pids (CPU per accepted
//     message, memory per socket), of -watch process trees (PostgreSQL with
//     its backends, Kafka, Redis), and of the generator itself.
//
// -after-setup runs a shell command once the users, sockets and
// conversations exist, before the first step; scripts/bench.sh has it
// analyze each fresh database, so that the steps run on statistics as a
// running deployment's would be.
//
// Users 2k and 2k+1 are friends and talk only to each other; user i uses
// target i mod n, so with two servers every conversation spans both. Tokens
// are minted with -key (the servers' signing key) so that they outlive long
// runs. A step is saturated when fewer than 95% of the rate is answered or
// delivered, errors exceed 1%, or delivery p99 exceeds -saturation-p99.
//
// scripts/bench.sh (make bench) runs the whole ladder against the embedded
// default and the real stack and writes the report.
package main
