#!/usr/bin/env bash
# The messenger benchmark: starts the local stack (scripts/services.sh),
# switches its PostgreSQL to durable settings (fsync, synchronous_commit and
# full_page_writes on, checked before measuring), runs cmd/msgbench against the
# embedded default and against one and then two real server nodes (PostgreSQL
# + Kafka + Redis Sentinel), with 1,000 and 10,000 connected users, up a ladder
# of rates until a step saturates, sending over the sockets and over HTTP in
# turn, each configuration BENCH_REPEATS times, then holds 50,000 sockets on
# several nodes without sending, and writes a report with the median and range
# of every repeated step. The fixed steps always run; past them the rate grows
# until a step saturates.
#
# Usage:
#   scripts/bench.sh            the full ladder (hours on 2 cores)
#   BENCH_REFERENCE=1 scripts/bench.sh   the published reference steps (one
#                               real node, 1,000 users; about an hour)
#   BENCH_QUICK=1 scripts/bench.sh   a smoke run of a few minutes
#
# Output (not committed): $BENCH_OUT, default bench/out/<UTC time>/, with
#   report.md          every run side by side, targets checked
#   <run>.json, .svg   each run's result and latency over time
#   pprof/<run>/       the servers' CPU profiles of each step (from the metrics
#                      listener, MESSENGER_METRICS_ADDR = API port + 1000)
#   metrics/<run>-nK.txt  each real node's /metrics at the end of its run
#                      (messenger_delivery_stage_seconds: where delivery time goes)
#   logs/              server and generator logs
# and bench/out/latest pointing at it.
#
# Environment (defaults in brackets):
#   BENCH_OUT           output directory [bench/out/<time>]
#   BENCH_USERS         connected users of each run, space-separated; empty for
#                       none (only the connections step) [1000 10000]
#   BENCH_NODES         real-stack node counts, space-separated [1 2]
#   BENCH_SEND_OVER     how messages are sent, space-separated, alternated
#                       within each repeat: socket (send events) and/or http
#                       [socket http]
#   BENCH_REPEATS       runs of each configuration, alternating with the
#                       others [3]
#   BENCH_EMBEDDED      1: also run the embedded default (one node, memory) [1]
#   BENCH_RATES         the fixed ladder, messages/s [1000,2000,3000,5000]
#   BENCH_EMBEDDED_RATES  the embedded default's ladder [BENCH_RATES]
#   BENCH_RATE_STEP     then add this per step until saturation [2500]
#   BENCH_RATE_MAX      never beyond [40000]
#   BENCH_DURATION      measured time per step [60s]
#   BENCH_WARMUP        unmeasured time per step before it [10s]
#   BENCH_STACK_WARMUP  load on a throwaway real node before the first real
#                       run, so that Kafka's JVM has compiled its hot paths;
#                       0 to skip [30s]
#   BENCH_CONNS         sockets of the connections-only step, 0 to skip [50000]
#   BENCH_CONNS_NODES   server nodes holding them [4]
#   BENCH_CONNS_PROCS   client processes holding them [3]
#   BENCH_CONNS_HOLD    how long they are held [30s]
#   BENCH_SOURCE_IPS    client source addresses [127.0.0.2-127.0.0.9]
#   BENCH_BASE_PORT     first server port; servers listen below 32768 [3101]
#   BENCH_ACK_EVERY     clients acknowledge deliveries this often, 0 never [0]
#   BENCH_STOP_EARLY    1: stop the fixed ladder at its first saturated step [0]
#   BENCH_EXTRA         more msgbench flags for every message run []
#   BENCH_MESSENGER     a server binary to measure instead of building this
#                       checkout's (to compare builds) []
#   BENCH_KEEP_SERVICES 1: leave a stack this script started running [0]
#   BENCH_SERVICES_DIR  the stack's state dir; the default is the benchmark's
#                       own stack, stopped at the end if this script started
#                       it; .services shares the test stack [bench/out/services]
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
cd "$REPO_ROOT"

if [ "${BENCH_REFERENCE:-0}" = 1 ]; then
	: "${BENCH_USERS:=1000}"
	: "${BENCH_NODES:=1}"
	: "${BENCH_RATES:=1000,2000,5000}"
	: "${BENCH_EMBEDDED_RATES:=5000}"
	: "${BENCH_RATE_STEP:=0}"
	: "${BENCH_DURATION:=60s}"
	: "${BENCH_WARMUP:=5s}"
	: "${BENCH_STACK_WARMUP:=20s}"
fi
if [ "${BENCH_QUICK:-0}" = 1 ]; then
	: "${BENCH_USERS:=200 1000}"
	: "${BENCH_RATES:=500,1000}"
	: "${BENCH_RATE_STEP:=0}"
	: "${BENCH_DURATION:=10s}"
	: "${BENCH_WARMUP:=3s}"
	: "${BENCH_CONNS:=4000}"
	: "${BENCH_CONNS_NODES:=2}"
	: "${BENCH_CONNS_PROCS:=2}"
	: "${BENCH_CONNS_HOLD:=5s}"
	: "${BENCH_STACK_WARMUP:=0}"
	: "${BENCH_REPEATS:=1}"
fi
STAMP="$(date -u +%Y%m%dT%H%M%SZ)"
OUT="${BENCH_OUT:-bench/out/$STAMP}"
USERS_LIST="${BENCH_USERS-1000 10000}"
NODES_LIST="${BENCH_NODES-1 2}"
EMBEDDED="${BENCH_EMBEDDED:-1}"
RATES="${BENCH_RATES:-1000,2000,3000,5000}"
EMBEDDED_RATES="${BENCH_EMBEDDED_RATES:-$RATES}"
RATE_STEP="${BENCH_RATE_STEP:-2500}"
RATE_MAX="${BENCH_RATE_MAX:-40000}"
DURATION="${BENCH_DURATION:-60s}"
WARMUP="${BENCH_WARMUP:-10s}"
STACK_WARMUP="${BENCH_STACK_WARMUP:-30s}"
CONNS="${BENCH_CONNS:-50000}"
CONNS_NODES="${BENCH_CONNS_NODES:-4}"
CONNS_PROCS="${BENCH_CONNS_PROCS:-3}"
CONNS_HOLD="${BENCH_CONNS_HOLD:-30s}"
SOURCE_IPS="${BENCH_SOURCE_IPS:-127.0.0.2-127.0.0.9}"
PORT="${BENCH_BASE_PORT:-3101}"
ACK_EVERY="${BENCH_ACK_EVERY:-0}"
STOP_EARLY="${BENCH_STOP_EARLY:-0}"
SEND_OVER="${BENCH_SEND_OVER:-socket http}"
REPEATS="${BENCH_REPEATS:-3}"
read -r -a EXTRA <<<"${BENCH_EXTRA:-}"
KEY="$REPO_ROOT/testdata/jwt-test-key.pem"
OWN_SERVICES=0
RUN_ID="b$(date -u +%m%d%H%M%S)"

T0=$SECONDS
log() { printf '[bench %4ds] %s\n' "$((SECONDS - T0))" "$*" >&2; }
die() {
	log "ERROR: $*"
	exit 1
}

mkdir -p "$OUT/logs" "$OUT/bin"
OUT="$(cd "$OUT" && pwd)"
# Keep results out of git without touching the repository's .gitignore.
mkdir -p "$REPO_ROOT/bench/out"
[ -f "$REPO_ROOT/bench/out/.gitignore" ] || printf '*\n' >"$REPO_ROOT/bench/out/.gitignore"
case "$OUT" in "$REPO_ROOT/bench/out/"*) ln -sfn "$OUT" "$REPO_ROOT/bench/out/latest" ;; esac
log "output in $OUT"

# One process may hold at most the hard limit of open files (20,000 here).
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

# ---------------------------------------------------------------------------
# build

log "building messenger and msgbench"
go build -o "$OUT/bin/msgbench" ./cmd/msgbench
if [ -n "${BENCH_MESSENGER:-}" ]; then
	# A build to compare with this checkout's (alternate runs of both).
	cp "$BENCH_MESSENGER" "$OUT/bin/messenger"
	log "server: $BENCH_MESSENGER (not built from this checkout)"
else
	go build -o "$OUT/bin/messenger" ./cmd/messenger
fi
MESSENGER="$OUT/bin/messenger"
MSGBENCH="$OUT/bin/msgbench"

# ---------------------------------------------------------------------------
# server nodes

NODE_PIDS=()
NODE_URLS=()
METRICS_URLS=()
DATABASES=()
PREFIXES=()

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# ready PORT: GET /readyz answers 200 (bash only, no curl needed).
ready() {
	(
		exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
		printf 'GET /readyz HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3
		IFS= read -r -t 5 status <&3 || exit 1
		case "$status" in "HTTP/1."?" 200"*) exit 0 ;; *) exit 1 ;; esac
	) 2>/dev/null
}

# next_port sets NODE_PORT to a free port at or above PORT.
next_port() {
	while ! port_free "$PORT" || ! port_free "$((PORT + 1000))"; do PORT=$((PORT + 1)); done
	[ "$PORT" -lt 32768 ] || die "no free port below 32768"
	NODE_PORT="$PORT"
	PORT=$((PORT + 1))
}

# start_node NAME [VAR=value...]: one messenger process in the background.
start_node() {
	local name="$1" port pid i
	shift
	next_port
	port="$NODE_PORT"
	env "$@" \
		MESSENGER_ADDR="127.0.0.1:$port" \
		MESSENGER_METRICS_ADDR="127.0.0.1:$((port + 1000))" \
		MESSENGER_PPROF=true \
		MESSENGER_NODE_ID="$name" \
		MESSENGER_JWT_PRIVATE_KEY_FILE="$KEY" \
		MESSENGER_SEND_RATE_LIMIT=0 \
		MESSENGER_PASSWORD_MEMORY_KIB=64 \
		MESSENGER_PASSWORD_ITERATIONS=1 \
		MESSENGER_REGISTRATIONS_PER_ADDRESS=1000000 \
		MESSENGER_LOG_LEVEL=warn \
		"$MESSENGER" >"$OUT/logs/$name.log" 2>&1 </dev/null &
	pid=$!
	NODE_PIDS+=("$pid")
	NODE_URLS+=("http://127.0.0.1:$port")
	METRICS_URLS+=("http://127.0.0.1:$((port + 1000))")
	for ((i = 0; i < 600; i++)); do
		if ready "$port"; then
			log "node $name ready on 127.0.0.1:$port (pid $pid)"
			return 0
		fi
		kill -0 "$pid" 2>/dev/null || {
			tail -n 20 "$OUT/logs/$name.log" >&2
			die "node $name exited"
		}
		sleep 0.2
	done
	tail -n 20 "$OUT/logs/$name.log" >&2
	die "node $name not ready after 120 s"
}

# save_metrics NAME: every node's /metrics (the delivery stage histograms,
# counted from the node's start) in $OUT/metrics/NAME-nK.txt.
save_metrics() {
	local i port
	mkdir -p "$OUT/metrics"
	for ((i = 0; i < ${#METRICS_URLS[@]}; i++)); do
		port="${METRICS_URLS[$i]##*:}"
		(
			exec 3<>"/dev/tcp/127.0.0.1/$port" || exit 1
			printf 'GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3
			sed '1,/^\r$/d' <&3
		) >"$OUT/metrics/$1-n$((i + 1)).txt" 2>/dev/null || true
	done
}

# stop_nodes: TERM every node started, KILL what is left after 30 s.
stop_nodes() {
	local pid i
	for pid in "${NODE_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
	for pid in "${NODE_PIDS[@]}"; do
		for ((i = 0; i < 300; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	NODE_PIDS=()
	NODE_URLS=()
	METRICS_URLS=()
}

# new_real_env NAME: REAL_ENV and REAL_DSN, the configuration of a real-stack node set, on a fresh
# database, topic prefix and key prefix so that runs never share state.
REAL_ENV=()
REAL_DSN=""
new_real_env() {
	local name="$1" db dsn
	db="$(printf '%s_%s' "$RUN_ID" "$name" | tr -c 'a-zA-Z0-9_\n' '_' | tr '[:upper:]' '[:lower:]')"
	psql "$MESSENGER_TEST_POSTGRES_DSN" -qAtc "CREATE DATABASE $db" >/dev/null ||
		die "cannot create database $db"
	DATABASES+=("$db")
	PREFIXES+=("$RUN_ID-$name-")
	dsn="${MESSENGER_TEST_POSTGRES_DSN%%\?*}"
	dsn="${dsn%/*}/$db?sslmode=disable"
	REAL_DSN="$dsn"
	REAL_ENV=(
		MESSENGER_DATABASE_URL="$dsn"
		KAFKA_BROKERS="$MESSENGER_TEST_KAFKA_BROKERS"
		MESSENGER_REDIS_SENTINELS="$MESSENGER_TEST_REDIS_SENTINELS"
		MESSENGER_REDIS_MASTER_NAME="${MESSENGER_TEST_REDIS_MASTER:-mymaster}"
		MESSENGER_KAFKA_TOPIC_PREFIX="$RUN_ID-$name-"
		MESSENGER_REDIS_KEY_PREFIX="$RUN_ID:$name:"
	)
	if [ -n "${MESSENGER_TEST_REDIS_PASSWORD:-}" ]; then
		REAL_ENV+=(REDIS_PASSWORD="$MESSENGER_TEST_REDIS_PASSWORD")
	fi
}

# drop_state: the databases and topics this script made.
drop_state() {
	local db prefix
	for db in "${DATABASES[@]}"; do
		psql "$MESSENGER_TEST_POSTGRES_DSN" -qAtc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
	done
	DATABASES=()
	if [ -d "${KAFKA_LIBS:-}" ] && command -v java >/dev/null; then
		for prefix in "${PREFIXES[@]}"; do
			java -Xmx256m -cp "$KAFKA_LIBS/*" org.apache.kafka.tools.TopicCommand \
				--bootstrap-server "$MESSENGER_TEST_KAFKA_BROKERS" --delete --if-exists \
				--topic "${prefix//./\\.}.*" >>"$OUT/logs/topics.log" 2>&1 || true
		done
	fi
	PREFIXES=()
}

RESTORE_PG=0
cleanup() {
	local rc=$?
	stop_nodes
	drop_state
	[ "$RESTORE_PG" = 1 ] && restore_postgres
	if [ "$OWN_SERVICES" = 1 ] && [ "${BENCH_KEEP_SERVICES:-0}" != 1 ]; then
		log "stopping the stack this run started"
		bash scripts/services.sh down >>"$OUT/logs/services.log" 2>&1 || true
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------------------
# services

# The benchmark's own stack by default: tests that restart the shared one
# (make test stops it at the end) cannot pull it away mid-run.
export MESSENGER_SERVICES_DIR="${BENCH_SERVICES_DIR:-$REPO_ROOT/bench/out/services}"
if ! bash scripts/services.sh status >/dev/null 2>&1; then
	OWN_SERVICES=1
fi
log "starting the local stack (scripts/services.sh up, state in $MESSENGER_SERVICES_DIR)"
eval "$(bash scripts/services.sh up 2>"$OUT/logs/services.log")" || {
	tail -n 20 "$OUT/logs/services.log" >&2
	die "services did not start"
}
: "${MESSENGER_TEST_POSTGRES_DSN:?services.sh gave no PostgreSQL}"
: "${MESSENGER_TEST_KAFKA_BROKERS:?services.sh gave no Kafka}"
: "${MESSENGER_TEST_REDIS_SENTINELS:?services.sh gave no Redis Sentinels}"
SERVICES_DIR="${MESSENGER_SERVICES_DIR:-$REPO_ROOT/.services}"
pidfile_pid() { head -n1 "$1" 2>/dev/null | tr -dc '0-9'; }
WATCH=()
p="$(pidfile_pid "$SERVICES_DIR/postgres/data/postmaster.pid")" && [ -n "$p" ] && WATCH+=("postgres=$p")
p="$(pidfile_pid "$SERVICES_DIR/kafka.pid")" && [ -n "$p" ] && WATCH+=("kafka=$p")
p="$(pidfile_pid "$SERVICES_DIR/redis-master.pid")" && [ -n "$p" ] && WATCH+=("redis=$p")
WATCH_FLAG="$(
	IFS=,
	echo "${WATCH[*]}"
)"
KAFKA_LIBS="${MESSENGER_CACHE_DIR:-$REPO_ROOT/.cache}/kafka-${MESSENGER_KAFKA_VERSION:-4.1.2}/libs"

# The published figures are the durable ones: what an operator runs. The
# local stack starts PostgreSQL with fsync, synchronous_commit and
# full_page_writes off (fast tests); ALTER SYSTEM overrides its configuration
# file, and a reload applies all three without a restart.
DURABLE_SETTINGS="fsync synchronous_commit full_page_writes"
pg_settings() {
	local k out=()
	for k in $DURABLE_SETTINGS; do
		out+=("$k=$(psql "$MESSENGER_TEST_POSTGRES_DSN" -qAtc "SHOW $k")")
	done
	echo "${out[*]}"
}
durable_postgres() {
	local k i want=() args=()
	for k in $DURABLE_SETTINGS; do
		args+=(-c "ALTER SYSTEM SET $k = on")
		want+=("$k=on")
	done
	psql "$MESSENGER_TEST_POSTGRES_DSN" -qAt "${args[@]}" -c "SELECT pg_reload_conf()" >/dev/null ||
		die "cannot change PostgreSQL's settings"
	for ((i = 0; i < 50; i++)); do
		[ "$(pg_settings)" = "${want[*]}" ] && return 0
		sleep 0.1
	done
	die "PostgreSQL is not durable after the reload: $(pg_settings)"
}
# A stack this script did not start goes back to the settings it had.
restore_postgres() {
	local k args=()
	for k in $DURABLE_SETTINGS; do args+=(-c "ALTER SYSTEM RESET $k"); done
	psql "$MESSENGER_TEST_POSTGRES_DSN" -qAt "${args[@]}" -c "SELECT pg_reload_conf()" >/dev/null 2>&1 || true
}
log "PostgreSQL before: $(pg_settings)"
durable_postgres
[ "$OWN_SERVICES" = 1 ] || RESTORE_PG=1
log "PostgreSQL durable: $(pg_settings)"


join() {
	local IFS=,
	echo "$*"
}

# ---------------------------------------------------------------------------
# runs

RESULTS=()

# message_run NAME USERS GROUP OVER: the ladder against the nodes running
# now, sending over OVER (socket or http); GROUP names the configuration the
# run repeats.
message_run() {
	local name="$1" users="$2" group="$3" over="$4" rates="$RATES" flags=()
	[ "${name#embedded}" = "$name" ] || rates="$EMBEDDED_RATES"
	log "run $name: $users users on ${#NODE_URLS[@]} node(s), sent over $over, rates $rates then +$RATE_STEP, load $(cut -d' ' -f1-3 /proc/loadavg)"
	[ "$STOP_EARLY" = 1 ] && flags+=(-stop-early)
	if [ "${name#embedded}" = "$name" ]; then
		[ -n "$WATCH_FLAG" ] && flags+=(-watch "$WATCH_FLAG")
		# A fresh database has no statistics until autovacuum's next visit (up
		# to a minute); a running deployment's has. Gather them before the
		# first step.
		flags+=(-after-setup "psql '$REAL_DSN' -qAtc ANALYZE")
	fi
	"$MSGBENCH" \
		-label "$name" -group "$group" -send "$over" \
		-targets "$(join "${NODE_URLS[@]}")" \
		-server-pids "$(join "${NODE_PIDS[@]}")" \
		-users "$users" \
		-rates "$rates" -rate-step "$RATE_STEP" -rate-max "$RATE_MAX" \
		-duration "$DURATION" -warmup "$WARMUP" \
		-ack-every "$ACK_EVERY" \
		-key "$KEY" \
		-source-ips "$SOURCE_IPS" \
		-run-id "$RUN_ID$name" \
		-json "$OUT/$name.json" -svg "$OUT/$name.svg" \
		-pprof-dir "$OUT/pprof/$name" \
		-metrics-targets "$(join "${METRICS_URLS[@]}")" \
		"${flags[@]}" "${EXTRA[@]}" \
		>"$OUT/$name.txt" 2>"$OUT/logs/$name.msgbench.log" ||
		log "run $name failed (see $OUT/logs/$name.msgbench.log)"
	cat "$OUT/$name.txt" >&2 || true
	[ -f "$OUT/$name.json" ] && RESULTS+=("$OUT/$name.json")
	return 0
}

# A freshly started Kafka runs interpreted for its first minute or so, at
# about half again its later CPU per message; the first real run must not
# measure that.
if [ "$STACK_WARMUP" != 0 ] && [ -n "$NODES_LIST" ] && [ -n "$USERS_LIST" ]; then
	name="warmup"
	new_real_env "$name"
	start_node "$name-n1" "${REAL_ENV[@]}"
	log "warming the stack: 2000 msg/s for $STACK_WARMUP on a throwaway node (not reported)"
	"$MSGBENCH" -label "$name" -targets "${NODE_URLS[0]}" -metrics-targets "${METRICS_URLS[0]}" -server-pids "${NODE_PIDS[0]}" \
		-users 1000 -rates 2000 -rate-step 0 -duration "$STACK_WARMUP" -warmup 0s \
		-key "$KEY" -source-ips "$SOURCE_IPS" -run-id "$RUN_ID$name" \
		>"$OUT/logs/$name.txt" 2>"$OUT/logs/$name.msgbench.log" ||
		log "stack warm-up failed (see $OUT/logs/$name.msgbench.log); measuring anyway"
	stop_nodes
	drop_state
fi

for users in $USERS_LIST; do
	for ((rep = 1; rep <= REPEATS; rep++)); do
		if [ "$EMBEDDED" = 1 ]; then
			for over in $SEND_OVER; do
				group="embedded-1node-u$users-$over"
				start_node "$group-r$rep"
				message_run "$group-r$rep" "$users" "$group" "$over"
				stop_nodes
			done
		fi
		for nodes in $NODES_LIST; do
			for over in $SEND_OVER; do
				group="real-${nodes}node-u$users-$over"
				name="$group-r$rep"
				new_real_env "$name"
				for ((k = 1; k <= nodes; k++)); do
					start_node "$name-n$k" "${REAL_ENV[@]}"
				done
				message_run "$name" "$users" "$group" "$over"
				save_metrics "$name"
				stop_nodes
				drop_state
			done
		done
	done
done

if [ "$CONNS" -gt 0 ]; then
	name="real-${CONNS_NODES}node-conns$CONNS"
	new_real_env "$name"
	for ((k = 1; k <= CONNS_NODES; k++)); do
		start_node "$name-n$k" "${REAL_ENV[@]}"
	done
	log "run $name: $CONNS sockets on $CONNS_NODES nodes from $CONNS_PROCS client processes"
	"$MSGBENCH" -conns-only \
		-label "$name" \
		-targets "$(join "${NODE_URLS[@]}")" \
		-metrics-targets "$(join "${METRICS_URLS[@]}")" \
		-server-pids "$(join "${NODE_PIDS[@]}")" \
		-users "$CONNS" -client-procs "$CONNS_PROCS" -hold "$CONNS_HOLD" \
		-key "$KEY" -source-ips "$SOURCE_IPS" -run-id "$RUN_ID" \
		-json "$OUT/$name.json" \
		>"$OUT/$name.txt" 2>"$OUT/logs/$name.msgbench.log" ||
		log "run $name failed (see $OUT/logs/$name.msgbench.log)"
	cat "$OUT/$name.txt" >&2 || true
	[ -f "$OUT/$name.json" ] && RESULTS+=("$OUT/$name.json")
	stop_nodes
	drop_state
fi

# ---------------------------------------------------------------------------
# report

[ "${#RESULTS[@]}" -gt 0 ] || die "no run produced a result"
if [ "$ACK_EVERY" = 0 ] || [ "$ACK_EVERY" = 0s ]; then
	ACK_NOTE="clients do not acknowledge deliveries (BENCH_ACK_EVERY adds that load)"
else
	ACK_NOTE="every socket acknowledges what it received every $ACK_EVERY"
fi
if [ "$OWN_SERVICES" = 1 ]; then
	SERVICES_NOTE="PostgreSQL, Kafka and Redis were started by scripts/services.sh for this run alone."
else
	SERVICES_NOTE="PostgreSQL, Kafka and Redis were already running (scripts/services.sh, state in $MESSENGER_SERVICES_DIR) and may have served other clients too, which shows in their CPU figures."
fi
"$MSGBENCH" report -o "$OUT/report.md" -title "Messenger benchmark $STAMP" \
	-note "Machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr); $(go version | cut -d' ' -f3); commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo ' (modified tree)'); load average at the end $(cut -d' ' -f1-3 /proc/loadavg)." \
	-note "PostgreSQL ran with durable settings, checked before the first run: $(pg_settings)." \
	-note "Each configuration ran $REPEATS time(s), sending over: $SEND_OVER, alternating; the repeated steps give the median and [range] over those runs, with the machine's load average at the end of each step." \
	-note "Everything runs on this one machine: the generator, the server nodes, PostgreSQL, Kafka and Redis share its cores. $SERVICES_NOTE Embedded runs use one node of the default in-memory configuration; real runs use PostgreSQL + Kafka + Redis Sentinel with a fresh database, topic prefix and key prefix each. Users alternate between the nodes, so with two nodes every conversation spans both." \
	-note "Before the first real run the stack carried 2,000 msg/s for ${STACK_WARMUP} on a throwaway node (0: not warmed), so that Kafka's JVM had compiled its hot paths." \
	-note "Ladder: $RATES messages/s (embedded: $EMBEDDED_RATES), each run whatever happens, then +$RATE_STEP while no step saturates (up to $RATE_MAX); each step ${WARMUP} warm-up then ${DURATION} measured; $ACK_NOTE. Message texts are 64 bytes." \
	"${RESULTS[@]}"
log "report: $OUT/report.md"
