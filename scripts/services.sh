#!/usr/bin/env bash
# Local test services for the messenger backend, run as plain processes on
# loopback (no Docker needed):
#
#   PostgreSQL 15    a throwaway cluster, trust auth, fsync off unless durable
#   Redis            master + replica + three Sentinels (quorum 2, "mymaster")
#   Apache Kafka 4.x one combined KRaft broker+controller, or three brokers and three
#                    dedicated controllers; jars from Maven Central
#   S3               versitygw (posix backend), built with `go install` into the cache
#
# Usage:
#   scripts/services.sh up [postgres] [redis] [kafka] [s3]   start (default: all), print exports
#   scripts/services.sh down [postgres] [redis] [kafka] [s3] stop (default: all) and remove state
#   scripts/services.sh env                             print the exports of what is running
#   scripts/services.sh status [service...]             human readable; exit 1 if something is down
#   scripts/services.sh kafka-stop | kafka-start [N]    stop / restart the cluster, or broker N (same storage, ports)
#   scripts/services.sh kafka-kill | kafka-pause | kafka-resume N   kill -9, SIGSTOP, SIGCONT broker N
#                                                       (cN: controller N, in a three-node cluster)
#   scripts/services.sh kafka-controller-leader         print the active controller (cN)
#   scripts/services.sh redis-start                     restart killed Redis/Sentinel processes (same ports)
#   scripts/services.sh postgres-stop | postgres-start  stop / start the cluster (same data, port)
#   scripts/services.sh postgres-kill                   kill -9 every PostgreSQL process (a crash)
#
# `up` after a crash or a stop starts what is there again (same ports, same
# data) rather than making new clusters.
#
# `up` is idempotent: services that already run and answer are reused. It prints
# only `export NAME=value` lines on stdout (progress goes to stderr) and writes the
# same lines to $MESSENGER_SERVICES_DIR/env, so callers do
#
#   eval "$(scripts/services.sh up)"
#
# Environment:
#   MESSENGER_SERVICES_DIR           state dir (default .services, relative to the repo root)
#   MESSENGER_CACHE_DIR              download cache kept across runs (default .cache)
#   MESSENGER_KAFKA_VERSION          org.apache.kafka:kafka_2.13 version (default 4.1.2)
#   MESSENGER_KAFKA_NODES            Kafka brokers (default 1, its own controller; 3: three brokers
#                                    and three dedicated controllers, replication factor 3,
#                                    min.insync.replicas 2)
#   MESSENGER_POSTGRES_DURABLE       1: fsync, synchronous_commit, full_page_writes on, as in
#                                    production (default 0: off, fast, not crash safe)
#   MESSENGER_VERSITYGW_VERSION      github.com/versity/versitygw version (default v1.8.0)
#   MESSENGER_REDIS_PASSWORD         optional requirepass/masterauth for Redis and Sentinels
#   MESSENGER_REDIS_DOWN_AFTER_MS    Sentinel down-after-milliseconds (default 1000)
#   MESSENGER_REDIS_FAILOVER_TIMEOUT_MS  Sentinel failover-timeout (default 10000)
#   MESSENGER_SERVICES_TIMEOUT       seconds to wait for each service (default 120)
set -euo pipefail

SCRIPT_PATH="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")"
SCRIPT_DIR="$(dirname "$SCRIPT_PATH")"
REPO_ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"

abspath() {
	case "$1" in
	/*) printf '%s\n' "$1" ;;
	*) printf '%s\n' "$REPO_ROOT/$1" ;;
	esac
}

DIR="$(abspath "${MESSENGER_SERVICES_DIR:-.services}")"
CACHE_DIR="$(abspath "${MESSENGER_CACHE_DIR:-.cache}")"
KAFKA_VERSION="${MESSENGER_KAFKA_VERSION:-4.1.2}"
# Unset: what the existing cluster has (a new one: 1 node, not durable).
KAFKA_NODES="${MESSENGER_KAFKA_NODES:-}"
PG_DURABLE="${MESSENGER_POSTGRES_DURABLE:-}"
REDIS_PASSWORD="${MESSENGER_REDIS_PASSWORD:-}"
REDIS_DOWN_AFTER_MS="${MESSENGER_REDIS_DOWN_AFTER_MS:-1000}"
REDIS_FAILOVER_TIMEOUT_MS="${MESSENGER_REDIS_FAILOVER_TIMEOUT_MS:-10000}"
WAIT_TIMEOUT="${MESSENGER_SERVICES_TIMEOUT:-120}"
REDIS_MASTER_NAME="mymaster"
ALL_SERVICES=(postgres redis kafka s3)
MARKER=".messenger-services"

export DEBIAN_FRONTEND=noninteractive

# ---------------------------------------------------------------------------
# helpers

T0=$SECONDS
log() { printf '[services %3ds] %s\n' "$((SECONDS - T0))" "$*" >&2; }
die() {
	log "ERROR: $*"
	exit 1
}

is_root() { [ "$(id -u)" -eq 0 ]; }

pid_alive() { # pidfile
	local pid
	[ -s "$1" ] || return 1
	pid="$(head -n1 "$1" 2>/dev/null | tr -dc '0-9')"
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

pid_of() { # pidfile; prints nothing when there is none
	[ -s "$1" ] || return 0
	head -n1 "$1" 2>/dev/null | tr -dc '0-9' || true
}

tcp_open() { # port
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Stops the process in a pidfile: TERM, wait up to $2 seconds, then KILL.
stop_pidfile() { # pidfile [timeout]
	local pidfile="$1" timeout="${2:-20}" pid i
	[ -s "$pidfile" ] || return 0
	pid="$(pid_of "$pidfile")"
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null || true
		for ((i = 0; i < timeout * 10; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		if kill -0 "$pid" 2>/dev/null; then
			log "pid $pid ($(basename "$pidfile")) did not stop in ${timeout}s, killing"
			kill -KILL "$pid" 2>/dev/null || true
			sleep 0.2
		fi
	fi
	rm -f "$pidfile"
}

# Stops the processes of several pidfiles at once: TERM to all, then wait.
stop_pidfiles() { # timeout pidfiles...
	local timeout="$1" f pid pids=() i alive
	shift
	for f in "$@"; do
		pid="$(pid_of "$f")"
		if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
			kill -TERM "$pid" 2>/dev/null || true
			pids+=("$pid")
		fi
	done
	for ((i = 0; i < timeout * 10 && ${#pids[@]} > 0; i++)); do
		alive=()
		for pid in "${pids[@]}"; do
			if kill -0 "$pid" 2>/dev/null; then alive+=("$pid"); fi
		done
		pids=("${alive[@]+"${alive[@]}"}")
		[ "${#pids[@]}" -eq 0 ] && break
		sleep 0.1
	done
	for pid in "${pids[@]+"${pids[@]}"}"; do
		log "pid $pid did not stop in ${timeout}s, killing"
		kill -KILL "$pid" 2>/dev/null || true
	done
	rm -f "$@"
}

# True when a TCP port shows up in /proc/net/tcp* (bound, listening or used
# by a connection) or something answers on it.
port_in_use() { # port
	local hex
	hex="$(printf ':%04X ' "$1")"
	grep -q -F -- "$hex" /proc/net/tcp /proc/net/tcp6 2>/dev/null && return 0
	tcp_open "$1"
}

# Prints a free loopback TCP port in [20000, 32000) (below the Linux ephemeral
# range, so clients' outgoing connections never take it) not picked before in this run.
# Callers run it in $(...), so the picked list lives in a file.
pick_port() {
	local p i picked=""
	picked=" $(cat "$DIR/.picked-ports" "$PG_DIR/port" "$REDIS_DIR/ports" "$KAFKA_DIR/ports" 2>/dev/null | tr '\n' ' ') "
	for ((i = 0; i < 500; i++)); do
		p=$((20000 + (RANDOM * 32768 + RANDOM) % 12000))
		case "$picked" in *" $p "*) continue ;; esac
		port_in_use "$p" && continue
		echo "$p" >>"$DIR/.picked-ports"
		printf '%s\n' "$p"
		return 0
	done
	die "no free port found"
}

wait_until() { # timeout command...
	local timeout="$1" deadline
	shift
	deadline=$((SECONDS + timeout))
	until "$@"; do
		if ((SECONDS >= deadline)); then
			return 1
		fi
		sleep 0.2
	done
}

ensure_state_dir() {
	mkdir -p "$DIR"
	touch "$DIR/$MARKER"
	chmod 755 "$DIR"
}

# ---------------------------------------------------------------------------
# package installation (Debian, non-interactive)

APT_UPDATED=0
apt_install() { # packages...
	is_root || die "missing packages ($*): install them or run as root"
	command -v apt-get >/dev/null || die "missing packages ($*) and no apt-get"
	ensure_state_dir
	local aptlog="$DIR/apt.log" policy=/usr/sbin/policy-rc.d made_policy=0 rc=0
	# Keep the packages' own system services (postgres on 5432, redis on 6379)
	# from starting during the install: they are not used.
	if [ ! -e "$policy" ]; then
		printf '#!/bin/sh\nexit 101\n' >"$policy"
		chmod 755 "$policy"
		made_policy=1
	fi
	if [ "$APT_UPDATED" -eq 0 ]; then
		log "apt-get update"
		apt-get update -q >>"$aptlog" 2>&1 </dev/null 9>&- || rc=$?
		APT_UPDATED=1
	fi
	if [ "$rc" -eq 0 ]; then
		log "apt-get install -y $*"
		apt-get install -y -q --no-install-recommends "$@" >>"$aptlog" 2>&1 </dev/null 9>&- || rc=$?
	fi
	[ "$made_policy" -eq 1 ] && rm -f "$policy"
	if [ "$rc" -ne 0 ]; then
		tail -n 30 "$aptlog" >&2
		die "apt-get failed (see $aptlog)"
	fi
}

PG_BIN=""
find_pg_bin() {
	local d
	for d in /usr/lib/postgresql/15/bin /usr/lib/postgresql/*/bin; do
		if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then
			PG_BIN="$d"
			return 0
		fi
	done
	if command -v initdb >/dev/null && command -v pg_ctl >/dev/null; then
		PG_BIN="$(dirname "$(command -v pg_ctl)")"
		return 0
	fi
	return 1
}

ensure_packages() { # services...
	local pkgs=() s
	for s in "$@"; do
		case "$s" in
		postgres)
			find_pg_bin || pkgs+=(postgresql postgresql-client)
			;;
		redis)
			command -v redis-server >/dev/null || pkgs+=(redis-server)
			command -v redis-cli >/dev/null || pkgs+=(redis-tools)
			;;
		kafka)
			command -v java >/dev/null || pkgs+=(openjdk-17-jre-headless)
			command -v mvn >/dev/null || pkgs+=(maven)
			;;
		esac
	done
	if [ "${#pkgs[@]}" -gt 0 ]; then
		apt_install "${pkgs[@]}"
	fi
	for s in "$@"; do
		if [ "$s" = postgres ]; then
			find_pg_bin || die "PostgreSQL binaries (initdb, pg_ctl) not found"
		fi
	done
}

# ---------------------------------------------------------------------------
# PostgreSQL

PG_DIR="$DIR/postgres"
PG_DATA="$PG_DIR/data"
PG_LOG="$PG_DIR/postgres.log"

# The cluster lives in $PG_DIR/data, or, when the postgres user cannot reach
# the state dir (e.g. under a 0700 test temp dir), in a dir of its own under
# /tmp recorded in $PG_DIR/datadir.
pg_locate() {
	if [ -s "$PG_DIR/datadir" ]; then
		PG_DATA="$(cat "$PG_DIR/datadir")"
	else
		PG_DATA="$PG_DIR/data"
	fi
	PG_LOG="$(dirname "$PG_DATA")/postgres.log"
}

as_pg() {
	if is_root; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

pg_port() { cat "$PG_DIR/port" 2>/dev/null; }

pg_healthy() {
	local port
	pg_locate
	port="$(pg_port)" || return 1
	[ -n "$port" ] && [ -s "$PG_DATA/postmaster.pid" ] || return 1
	pg_isready -q -h 127.0.0.1 -p "$port" -U postgres -t 2 >/dev/null 2>&1
}

# Stops the server, keeping the cluster.
pg_halt() {
	pg_locate
	if [ -s "$PG_DATA/postmaster.pid" ] && find_pg_bin; then
		log "postgres: stopping"
		as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w -t 60 stop >/dev/null 2>&1 </dev/null ||
			stop_pidfile "$PG_DATA/postmaster.pid" 10 || true
	fi
}

pg_stop() {
	pg_halt
	case "$PG_DATA" in
	/tmp/messenger-pg.*/data) rm -rf "$(dirname "$PG_DATA")" ;;
	esac
	rm -rf "$PG_DIR"
	rm -f "$DIR/postgres.env"
}

# Writes the durability settings MESSENGER_POSTGRES_DURABLE asks for into the
# file postgresql.conf includes last. Off (the default) trades crash safety for
# speed: with fsync off a commit may be lost with the machine or a kill -9 of
# the server. synchronous_commit stays on in both modes (with fsync off it
# costs nothing), so that what the server's durability check finds turned off
# is a session's or a database's own setting.
pg_write_durability() {
	local v=off
	if [ -z "$PG_DURABLE" ]; then
		PG_DURABLE=0
		if grep -q -x 'fsync = on' "$PG_DATA/durability.conf" 2>/dev/null; then PG_DURABLE=1; fi
	fi
	[ "$PG_DURABLE" = 1 ] && v=on
	as_pg tee "$PG_DATA/durability.conf" >/dev/null <<EOF
# generated by scripts/services.sh (MESSENGER_POSTGRES_DURABLE=$PG_DURABLE)
fsync = $v
synchronous_commit = on
full_page_writes = $v
EOF
}

# Starts the existing cluster (same data, same port) and waits until it answers.
pg_start() {
	local t=$SECONDS port
	pg_locate
	port="$(pg_port)"
	[ -n "$port" ] && [ -f "$PG_DATA/PG_VERSION" ] || return 1
	pg_write_durability
	log "postgres: starting the existing cluster on 127.0.0.1:$port"
	if ! as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t "$WAIT_TIMEOUT" start \
		>/dev/null 2>&1 </dev/null 9>&-; then
		tail -n 30 "$PG_LOG" >&2 || true
		log "postgres: pg_ctl start failed (log: $PG_LOG)"
		return 1
	fi
	wait_until "$WAIT_TIMEOUT" pg_healthy || return 1
	log "postgres: ready in $((SECONDS - t))s"
}

pg_gone() { ! kill -0 "$1" 2>/dev/null; }

# Kills every process of the server at once with SIGKILL, as a crash would:
# the postmaster is frozen first so that it starts no new child meanwhile.
pg_kill() {
	local pm pids f
	pg_locate
	pm="$(pid_of "$PG_DATA/postmaster.pid")"
	[ -n "$pm" ] && kill -0 "$pm" 2>/dev/null || die "postgres: not running"
	kill -STOP "$pm"
	pids="$pm"
	for f in /proc/[0-9]*/status; do
		if grep -q -E "^PPid:[[:space:]]+$pm\$" "$f" 2>/dev/null; then
			f="${f#/proc/}"
			pids="$pids ${f%/status}"
		fi
	done
	# shellcheck disable=SC2086
	kill -KILL $pids 2>/dev/null || true
	wait_until 10 pg_gone "$pm" || die "postgres: pid $pm still there after SIGKILL"
	log "postgres: killed $pids"
}

pg_up() {
	local t=$SECONDS port
	if pg_healthy; then
		log "postgres: already running on 127.0.0.1:$(pg_port)"
		pg_write_durability
		as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" reload >/dev/null 2>&1 </dev/null || true
	elif [ -f "$PG_DATA/PG_VERSION" ] && [ -s "$PG_DIR/port" ]; then
		# Stopped or crashed: the same cluster again, never a new one over its data.
		pg_start || die "postgres: the existing cluster in $PG_DATA does not start (log: $PG_LOG); \`$SCRIPT_PATH down postgres\` drops it"
		log "postgres: running again on the same port and data"
	else
		pg_stop
		port="$(pick_port)"
		mkdir -p "$PG_DIR"
		chmod 755 "$PG_DIR"
		if is_root; then
			chown postgres:postgres "$PG_DIR"
			if ! runuser -u postgres -- test -w "$PG_DIR"; then
				local ext
				ext="$(mktemp -d /tmp/messenger-pg.XXXXXX)"
				chown postgres:postgres "$ext"
				echo "$ext/data" >"$PG_DIR/datadir"
				log "postgres: user postgres cannot reach $PG_DIR; cluster in $ext"
			fi
		fi
		pg_locate
		log "postgres: initdb"
		as_pg "$PG_BIN/initdb" -D "$PG_DATA" -U postgres --auth=trust --encoding=UTF8 \
			--locale=C.UTF-8 --no-sync >"$PG_DIR/initdb.log" 2>&1 </dev/null ||
			as_pg "$PG_BIN/initdb" -D "$PG_DATA" -U postgres --auth=trust --encoding=UTF8 \
				--locale=C --no-sync >"$PG_DIR/initdb.log" 2>&1 </dev/null ||
			{
				tail -n 20 "$PG_DIR/initdb.log" >&2
				die "postgres: initdb failed"
			}
		cat >>"$PG_DATA/postgresql.conf" <<EOF

# messenger test cluster (scripts/services.sh)
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = ''
max_connections = 300
shared_buffers = 128MB
wal_level = minimal
max_wal_senders = 0
checkpoint_timeout = 30min
# autovacuum_naptime stays at its default minute: at 5 s, autovacuum vacuumed
# and analyzed the benchmark's growing chats table every 5 s, and each pass
# showed as a spike in delivery latency. The benchmark has its fresh databases
# analyzed once their users and conversations exist (msgbench -after-setup).
log_min_messages = warning
log_min_error_statement = panic
log_checkpoints = off
# fsync, synchronous_commit, full_page_writes (MESSENGER_POSTGRES_DURABLE)
include_if_exists = 'durability.conf'
EOF
		pg_write_durability
		cat >"$PG_DATA/pg_hba.conf" <<EOF
local all all trust
host  all all 127.0.0.1/32 trust
host  all all ::1/128 trust
EOF
		printf '%s\n' "$port" >"$PG_DIR/port"
		log "postgres: starting on 127.0.0.1:$port"
		if ! as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t "$WAIT_TIMEOUT" start \
			>/dev/null 2>&1 </dev/null 9>&-; then
			tail -n 30 "$PG_LOG" >&2 || true
			die "postgres: pg_ctl start failed (log: $PG_LOG)"
		fi
		wait_until "$WAIT_TIMEOUT" pg_healthy || die "postgres: not ready after ${WAIT_TIMEOUT}s"
		log "postgres: ready in $((SECONDS - t))s"
	fi
	port="$(pg_port)"
	{
		echo "MESSENGER_TEST_POSTGRES_DSN=postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
		echo "MESSENGER_TEST_POSTGRES_DURABLE=$PG_DURABLE"
		echo "MESSENGER_TEST_POSTGRES_STOP=$(command_prefix) postgres-stop"
		echo "MESSENGER_TEST_POSTGRES_START=$(command_prefix) postgres-start"
		echo "MESSENGER_TEST_POSTGRES_KILL=$(command_prefix) postgres-kill"
	} >"$DIR/postgres.env"
}

# ---------------------------------------------------------------------------
# Redis: master, replica, three Sentinels

REDIS_DIR="$DIR/redis"

redis_cli() { # port args...
	local port="$1"
	shift
	if [ -n "$REDIS_PASSWORD" ]; then
		REDISCLI_AUTH="$REDIS_PASSWORD" redis-cli -h 127.0.0.1 -p "$port" "$@" 2>/dev/null </dev/null
	else
		redis-cli -h 127.0.0.1 -p "$port" "$@" 2>/dev/null </dev/null
	fi
}

redis_ports() { # prints "master replica s1 s2 s3"
	cat "$REDIS_DIR/ports" 2>/dev/null
}

redis_pong() { [ "$(redis_cli "$1" PING)" = PONG ]; }

redis_link_up() { redis_cli "$1" INFO replication | grep -q '^master_link_status:up'; }

# Field of `SENTINEL master mymaster` (flat key/value reply).
sentinel_field() { # port field
	redis_cli "$1" SENTINEL master "$REDIS_MASTER_NAME" | awk -v k="$2" 'prev == k { print; exit } { prev = $0 }'
}

# A sentinel knows the master, the replica and the two other sentinels.
sentinel_ready() { # port
	local addr flags
	addr="$(redis_cli "$1" SENTINEL get-master-addr-by-name "$REDIS_MASTER_NAME" | tr '\n' ' ')"
	[ -n "$addr" ] && [ "$addr" != " " ] || return 1
	flags="$(sentinel_field "$1" flags)"
	[ "$flags" = "master" ] || return 1
	[ "$(sentinel_field "$1" num-slaves)" = "1" ] || return 1
	[ "$(sentinel_field "$1" num-other-sentinels)" = "2" ] || return 1
}

# All three sentinels are ready and agree on the master, which has its replica.
redis_all_sentinels_ready() {
	local ports s addr first=""
	read -r -a ports <<<"$(redis_ports)"
	for s in "${ports[@]:2:3}"; do
		sentinel_ready "$s" || return 1
		addr="$(redis_cli "$s" SENTINEL get-master-addr-by-name "$REDIS_MASTER_NAME" | paste -sd: -)"
		[ -z "$first" ] && first="$addr"
		[ "$addr" = "$first" ] || return 1
	done
	redis_cli "${first##*:}" INFO replication | grep -q '^connected_slaves:[1-9]'
}

redis_pidfiles() {
	echo "$DIR/redis-master.pid" "$DIR/redis-replica.pid" \
		"$DIR/sentinel-1.pid" "$DIR/sentinel-2.pid" "$DIR/sentinel-3.pid"
}

redis_healthy() {
	local f ports
	[ -s "$REDIS_DIR/ports" ] || return 1
	for f in $(redis_pidfiles); do
		pid_alive "$f" || return 1
	done
	read -r -a ports <<<"$(redis_ports)"
	[ "$(redis_cli "${ports[0]}" PING)" = "PONG" ] || return 1
	[ "$(redis_cli "${ports[1]}" PING)" = "PONG" ] || return 1
	redis_all_sentinels_ready
}

# Starts again, from their (possibly Sentinel-rewritten) configs and on the
# same ports, the Redis and Sentinel processes that are gone, e.g. after a
# failover test killed the master; then waits until the group is whole again.
redis_restart_dead() { # timeout
	local name i
	[ -s "$REDIS_DIR/ports" ] && [ -f "$REDIS_DIR/master.conf" ] || return 1
	for name in master replica; do
		if ! pid_alive "$DIR/redis-$name.pid"; then
			log "redis: restarting $name"
			redis-server "$REDIS_DIR/$name.conf" >>"$REDIS_DIR/start.log" 2>&1 </dev/null 9>&- || return 1
		fi
	done
	for i in 1 2 3; do
		if ! pid_alive "$DIR/sentinel-$i.pid"; then
			log "redis: restarting sentinel-$i"
			redis-server "$REDIS_DIR/sentinel-$i.conf" --sentinel >>"$REDIS_DIR/start.log" 2>&1 </dev/null 9>&- || return 1
		fi
	done
	wait_until "$1" redis_healthy
}

redis_stop() {
	if compgen -G "$DIR/redis-*.pid" >/dev/null || compgen -G "$DIR/sentinel-*.pid" >/dev/null; then
		log "redis: stopping"
	fi
	# shellcheck disable=SC2046
	stop_pidfiles 10 $(redis_pidfiles)
	rm -rf "$REDIS_DIR"
	rm -f "$DIR/redis.env"
}

redis_auth_conf() {
	if [ -n "$REDIS_PASSWORD" ]; then
		echo "requirepass \"$REDIS_PASSWORD\""
		echo "masterauth \"$REDIS_PASSWORD\""
	fi
}

redis_server_conf() { # name port [replicaof-port]
	local name="$1" port="$2" of="${3:-}"
	mkdir -p "$REDIS_DIR/$name"
	cat <<EOF
# generated by scripts/services.sh
bind 127.0.0.1
port $port
protected-mode no
daemonize yes
pidfile $DIR/redis-$name.pid
logfile $REDIS_DIR/$name.log
dir $REDIS_DIR/$name
save ""
appendonly no
loglevel warning
repl-diskless-sync yes
repl-diskless-sync-delay 0
replica-announce-ip 127.0.0.1
EOF
	redis_auth_conf
	if [ -n "$of" ]; then
		echo "replicaof 127.0.0.1 $of"
	fi
}

redis_up() {
	local t=$SECONDS master replica s1 s2 s3 i port name
	if redis_healthy; then
		read -r master replica s1 s2 s3 <<<"$(redis_ports)"
		log "redis: already running (master 127.0.0.1:$master)"
	elif redis_restart_dead 30; then
		read -r master replica s1 s2 s3 <<<"$(redis_ports)"
		log "redis: running again on the same ports in $((SECONDS - t))s"
	else
		redis_stop
		mkdir -p "$REDIS_DIR"
		master="$(pick_port)"
		replica="$(pick_port)"
		s1="$(pick_port)"
		s2="$(pick_port)"
		s3="$(pick_port)"
		echo "$master $replica $s1 $s2 $s3" >"$REDIS_DIR/ports"

		redis_server_conf master "$master" >"$REDIS_DIR/master.conf"
		redis_server_conf replica "$replica" "$master" >"$REDIS_DIR/replica.conf"
		log "redis: starting master on 127.0.0.1:$master, replica on 127.0.0.1:$replica"
		redis-server "$REDIS_DIR/master.conf" >>"$REDIS_DIR/start.log" 2>&1 </dev/null 9>&- ||
			die "redis: master failed to start (see $REDIS_DIR/master.log)"
		wait_until 30 redis_pong "$master" ||
			die "redis: master not answering (see $REDIS_DIR/master.log)"
		redis-server "$REDIS_DIR/replica.conf" >>"$REDIS_DIR/start.log" 2>&1 </dev/null 9>&- ||
			die "redis: replica failed to start (see $REDIS_DIR/replica.log)"
		wait_until 30 redis_link_up "$replica" ||
			die "redis: replica did not sync (see $REDIS_DIR/replica.log)"

		i=0
		for port in "$s1" "$s2" "$s3"; do
			i=$((i + 1))
			name="sentinel-$i"
			mkdir -p "$REDIS_DIR/$name"
			{
				cat <<EOF
# generated by scripts/services.sh (Sentinel rewrites this file)
bind 127.0.0.1
port $port
protected-mode no
daemonize yes
pidfile $DIR/$name.pid
logfile $REDIS_DIR/$name.log
dir $REDIS_DIR/$name
sentinel announce-ip 127.0.0.1
sentinel monitor $REDIS_MASTER_NAME 127.0.0.1 $master 2
sentinel down-after-milliseconds $REDIS_MASTER_NAME $REDIS_DOWN_AFTER_MS
sentinel failover-timeout $REDIS_MASTER_NAME $REDIS_FAILOVER_TIMEOUT_MS
sentinel parallel-syncs $REDIS_MASTER_NAME 1
EOF
				if [ -n "$REDIS_PASSWORD" ]; then
					echo "sentinel auth-pass $REDIS_MASTER_NAME \"$REDIS_PASSWORD\""
					echo "requirepass \"$REDIS_PASSWORD\""
					echo "sentinel sentinel-pass \"$REDIS_PASSWORD\""
				fi
			} >"$REDIS_DIR/$name.conf"
			redis-server "$REDIS_DIR/$name.conf" --sentinel >>"$REDIS_DIR/start.log" 2>&1 </dev/null 9>&- ||
				die "redis: $name failed to start (see $REDIS_DIR/$name.log)"
		done
		log "redis: sentinels on 127.0.0.1:$s1,$s2,$s3; waiting for them to agree"
		if ! wait_until "$WAIT_TIMEOUT" redis_all_sentinels_ready; then
			for port in "$s1" "$s2" "$s3"; do
				log "sentinel $port: $(redis_cli "$port" SENTINEL master "$REDIS_MASTER_NAME" | tr '\n' ' ')"
			done
			die "redis: sentinels not ready after ${WAIT_TIMEOUT}s"
		fi
		log "redis: ready in $((SECONDS - t))s"
	fi
	# The current master (it may have moved after a failover test).
	local cur
	cur="$(redis_cli "$s1" SENTINEL get-master-addr-by-name "$REDIS_MASTER_NAME" | paste -sd: - || true)"
	[ -n "$cur" ] || cur="127.0.0.1:$master"
	{
		echo "MESSENGER_TEST_REDIS_ADDR=$cur"
		echo "MESSENGER_TEST_REDIS_MASTER=$REDIS_MASTER_NAME"
		echo "MESSENGER_TEST_REDIS_SENTINELS=127.0.0.1:$s1,127.0.0.1:$s2,127.0.0.1:$s3"
		echo "MESSENGER_TEST_REDIS_REPLICA_ADDR=127.0.0.1:$replica"
		if [ -n "$REDIS_PASSWORD" ]; then
			echo "MESSENGER_TEST_REDIS_PASSWORD=$REDIS_PASSWORD"
		fi
		echo "MESSENGER_TEST_REDIS_MASTER_PIDFILE=$DIR/redis-master.pid"
		echo "MESSENGER_TEST_REDIS_REPLICA_PIDFILE=$DIR/redis-replica.pid"
		echo "MESSENGER_TEST_REDIS_SENTINEL_PIDFILES=$DIR/sentinel-1.pid,$DIR/sentinel-2.pid,$DIR/sentinel-3.pid"
		echo "MESSENGER_TEST_REDIS_START=$(command_prefix) redis-start"
	} >"$DIR/redis.env"
}

# ---------------------------------------------------------------------------
# Kafka (KRaft): one combined broker+controller, or MESSENGER_KAFKA_NODES
# brokers beside as many dedicated controllers (three: every topic on three
# brokers, min.insync.replicas 2, so that one broker killed or frozen loses no
# acknowledged record and stops no send; and a broker's death never takes the
# active controller with it, which would delay its fencing by a quorum election).
#
# A unit is broker N ("N") or controller N ("cN"). Broker 1 lives in $KAFKA_DIR
# (pidfile $DIR/kafka.pid), broker n > 1 in $KAFKA_DIR/node-n ($DIR/kafka-n.pid),
# controller n in $KAFKA_DIR/controller-n ($DIR/kafka-controller-n.pid);
# $KAFKA_DIR/ports holds "broker controller" per node, in node order (a lone
# combined node listens on both; otherwise broker n takes the first and
# controller n the second).

KAFKA_DIR="$DIR/kafka"
KAFKA_HOME="$CACHE_DIR/kafka-$KAFKA_VERSION"
KAFKA_LIBS="$KAFKA_HOME/libs"

kafka_cached() {
	[ -f "$KAFKA_HOME/.complete" ] && compgen -G "$KAFKA_LIBS/kafka_2.13-*.jar" >/dev/null
}

pom_sum() { sha256sum "$SCRIPT_DIR/kafka/pom.xml" | cut -d' ' -f1; }

# Copies the broker's jars from Maven Central into the cache once; parallel
# callers (tests starting brokers of their own) wait for the first one.
kafka_fetch() {
	if kafka_cached; then
		# Running brokers use these jars, so they are not replaced under them.
		if [ "$(cat "$KAFKA_HOME/.complete")" != "$(pom_sum)" ]; then
			log "kafka: note: scripts/kafka/pom.xml changed since $KAFKA_HOME was filled; rm -rf it to fetch again"
		fi
		return 0
	fi
	mkdir -p "$CACHE_DIR"
	# In a subshell, so the lock's fd is gone before any daemon starts.
	(
		flock -w 900 8 || die "kafka: could not lock $CACHE_DIR/.kafka-$KAFKA_VERSION.lock"
		kafka_cached && exit 0
		t=$SECONDS
		tmp="$(mktemp -d "$CACHE_DIR/.kafka-$KAFKA_VERSION.XXXXXX")"
		log "kafka: resolving org.apache.kafka:kafka_2.13:$KAFKA_VERSION from Maven Central"
		if ! mvn -q -B -f "$SCRIPT_DIR/kafka/pom.xml" \
			-Dkafka.version="$KAFKA_VERSION" \
			dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$tmp/libs" \
			>"$tmp/mvn.log" 2>&1 </dev/null 9>&- 8>&-; then
			tail -n 40 "$tmp/mvn.log" >&2
			rm -rf "$tmp"
			die "kafka: mvn dependency:copy-dependencies failed"
		fi
		pom_sum >"$tmp/.complete"
		rm -rf "$KAFKA_HOME"
		mv "$tmp" "$KAFKA_HOME"
		log "kafka: $(find "$KAFKA_LIBS" -name '*.jar' | wc -l) jars in $KAFKA_LIBS ($((SECONDS - t))s)"
	) 8>"$CACHE_DIR/.kafka-$KAFKA_VERSION.lock" || exit 1
	kafka_cached || die "kafka: no jars in $KAFKA_LIBS"
}

kafka_ports() { cat "$KAFKA_DIR/ports" 2>/dev/null; } # "broker controller" per node

# How many nodes the cluster in $KAFKA_DIR has (0 when there is none).
kafka_node_count() {
	local ports
	read -r -a ports <<<"$(kafka_ports)"
	echo $((${#ports[@]} / 2))
}

# Whether the cluster runs dedicated controllers (more than one node).
kafka_dedicated() { [ "$(kafka_node_count)" -gt 1 ]; }

# Every unit, controllers first (brokers wait for their quorum).
kafka_units() {
	local n i
	n="$(kafka_node_count)"
	if [ "$n" -gt 1 ]; then
		for ((i = 1; i <= n; i++)); do echo "c$i"; done
	fi
	for ((i = 1; i <= n; i++)); do echo "$i"; done
}

kafka_node_dir() { # unit
	case "$1" in
	c*) echo "$KAFKA_DIR/controller-${1#c}" ;;
	1) echo "$KAFKA_DIR" ;;
	*) echo "$KAFKA_DIR/node-$1" ;;
	esac
}

kafka_pidfile() { # unit
	case "$1" in
	c*) echo "$DIR/kafka-controller-${1#c}.pid" ;;
	1) echo "$DIR/kafka.pid" ;;
	*) echo "$DIR/kafka-$1.pid" ;;
	esac
}

kafka_unit_name() { # unit
	case "$1" in
	c*) echo "controller ${1#c}" ;;
	*) echo "node $1" ;;
	esac
}

kafka_broker_port() { # node
	local ports
	read -r -a ports <<<"$(kafka_ports)"
	echo "${ports[$((2 * $1 - 2))]:-}"
}

kafka_controller_port() { # node
	local ports
	read -r -a ports <<<"$(kafka_ports)"
	echo "${ports[$((2 * $1 - 1))]:-}"
}

# The port a unit answers on: a broker's clients' port, a controller's quorum port.
kafka_unit_port() { # unit
	case "$1" in
	c*) kafka_controller_port "${1#c}" ;;
	*) kafka_broker_port "$1" ;;
	esac
}

# The JVM options of every Kafka process; the heap differs by role.
kafka_jvm_opts() { # max-heap
	printf '%s\n' "-Xms$(( ${1%m} / 2 ))m" "-Xmx$1" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
		-Djava.awt.headless=true \
		"-Dlog4j2.configurationFile=$KAFKA_DIR/log4j2.properties" \
		"-Dkafka.logs.dir=$KAFKA_DIR/logs" \
		-cp "$KAFKA_LIBS/*"
}

kafka_java() { # main-class args...
	local opts
	mapfile -t opts < <(kafka_jvm_opts 512m)
	java "${opts[@]}" "$@"
}

kafka_log_started() { # unit
	grep -q -E 'Kafka Server started|started \(kafka\.server\.KafkaRaftServer\)' "$(kafka_node_dir "$1")/kafka.log" 2>/dev/null
}

# Done waiting: the unit logged its start and takes connections, or it died.
kafka_started_or_dead() { # unit pid
	{ kafka_log_started "$1" && tcp_open "$(kafka_unit_port "$1")"; } || ! kill -0 "$2" 2>/dev/null
}

kafka_node_healthy() { # unit
	local port
	port="$(kafka_unit_port "$1")"
	[ -n "$port" ] && pid_alive "$(kafka_pidfile "$1")" && tcp_open "$port"
}

kafka_healthy() {
	local u units
	units="$(kafka_units)"
	[ -n "$units" ] || return 1
	for u in $units; do
		kafka_node_healthy "$u" || return 1
	done
}

kafka_bootstrap() { # host:port of every node, comma-separated
	local n i out=""
	n="$(kafka_node_count)"
	for ((i = 1; i <= n; i++)); do
		out="$out${out:+,}127.0.0.1:$(kafka_broker_port "$i")"
	done
	echo "$out"
}

kafka_write_config() { # unit nodes voters
	local unit="$1" nodes="$2" voters="$3" node dir broker controller rf=1 isr=1
	node="${unit#c}"
	dir="$(kafka_node_dir "$unit")"
	broker="$(kafka_broker_port "$node")"
	controller="$(kafka_controller_port "$node")"
	# With three nodes a dead or frozen broker is fenced, and its partitions get
	# new leaders, after 2 s of missed heartbeats (9 s by default), and a dead
	# active controller is replaced after 1 s without its log (2 s); a lone node
	# keeps a wider 3 s margin, since fencing it stops everything.
	local session=3000 heartbeat=1000 quorum_fetch=2000 election=1000
	if [ "$nodes" -ge 3 ]; then
		rf=3
		isr=2
		session=2000 heartbeat=500 quorum_fetch=1000 election=500
	fi
	# A lone node is broker and controller; otherwise a unit is one of them.
	local roles=broker,controller id="$node" listeners="PLAINTEXT://127.0.0.1:$broker,CONTROLLER://127.0.0.1:$controller"
	if [ "$nodes" -gt 1 ] && [ "$unit" != "$node" ]; then
		roles=controller id=$((100 + node)) listeners="CONTROLLER://127.0.0.1:$controller"
	elif [ "$nodes" -gt 1 ]; then
		roles=broker listeners="PLAINTEXT://127.0.0.1:$broker"
	fi
	local identity="process.roles=$roles
node.id=$id
listeners=$listeners"
	if [ "$roles" != controller ]; then
		identity="$identity
advertised.listeners=PLAINTEXT://127.0.0.1:$broker
inter.broker.listener.name=PLAINTEXT"
	fi
	mkdir -p "$dir/data" "$KAFKA_DIR/logs"
	cat >"$dir/server.properties" <<EOF
# generated by scripts/services.sh
$identity
controller.quorum.voters=$voters
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$dir/data
num.partitions=1
default.replication.factor=$rf
min.insync.replicas=$isr
offsets.topic.replication.factor=$rf
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=$rf
transaction.state.log.min.isr=$isr
transaction.state.log.num.partitions=10
share.coordinator.state.topic.replication.factor=$rf
share.coordinator.state.topic.min.isr=$isr
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
delete.topic.enable=true
log.retention.hours=2
log.segment.bytes=16777216
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
controlled.shutdown.enable=true
# A frozen or killed follower leaves the ISR after 5 s instead of 30 s (or
# when it is fenced, if sooner), so acks=all sends wait at most that long for it.
replica.lag.time.max.ms=5000
broker.session.timeout.ms=$session
broker.heartbeat.interval.ms=$heartbeat
controller.quorum.fetch.timeout.ms=$quorum_fetch
controller.quorum.election.timeout.ms=$election
# The new consumer group protocol (KIP-848) with short sessions allowed.
group.consumer.min.session.timeout.ms=1000
group.consumer.session.timeout.ms=3000
group.consumer.heartbeat.interval.ms=1000
group.consumer.min.heartbeat.interval.ms=500
group.min.session.timeout.ms=1000
EOF
	cat >"$KAFKA_DIR/log4j2.properties" <<EOF
# generated by scripts/services.sh: warnings only, plus the startup line
status = warn
appender.out.type = Console
appender.out.name = STDOUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = warn
rootLogger.appenderRef.out.ref = STDOUT
logger.raftserver.name = kafka.server.KafkaRaftServer
logger.raftserver.level = info
logger.kafka.name = kafka.Kafka\$
logger.kafka.level = info
EOF
}

# Launches a unit from its existing config and storage; does not wait.
kafka_launch() { # unit
	local unit="$1" dir pidfile opts heap=512m
	dir="$(kafka_node_dir "$unit")"
	pidfile="$(kafka_pidfile "$unit")"
	case "$unit" in c*) heap=256m ;; esac
	mapfile -t opts < <(kafka_jvm_opts "$heap")
	stop_pidfile "$pidfile" 5
	log "kafka: starting $(kafka_unit_name "$unit") on 127.0.0.1:$(kafka_unit_port "$unit")"
	if [ -s "$dir/kafka.log" ]; then
		mv -f "$dir/kafka.log" "$dir/kafka.log.1"
	fi
	: >"$dir/kafka.log"
	# The process writes its own pid, then becomes the JVM; it keeps no fd of ours.
	# shellcheck disable=SC2016
	setsid bash -c 'echo $$ >"$1"; shift; exec "$@"' _ "$pidfile" \
		java "${opts[@]}" kafka.Kafka "$dir/server.properties" \
		>>"$dir/kafka.log" 2>&1 </dev/null 9>&- &
	disown $! 2>/dev/null || true
	wait_until 10 test -s "$pidfile" || die "kafka: no pidfile for $(kafka_unit_name "$unit")"
}

# Waits until a launched unit answers.
kafka_wait() { # unit
	local unit="$1" dir pid
	dir="$(kafka_node_dir "$unit")"
	pid="$(pid_of "$(kafka_pidfile "$unit")")"
	if ! wait_until "$WAIT_TIMEOUT" kafka_started_or_dead "$unit" "$pid"; then
		tail -n 30 "$dir/kafka.log" >&2
		die "kafka: $(kafka_unit_name "$unit") not ready after ${WAIT_TIMEOUT}s (log: $dir/kafka.log)"
	fi
	if ! kill -0 "$pid" 2>/dev/null; then
		tail -n 30 "$dir/kafka.log" >&2
		die "kafka: $(kafka_unit_name "$unit") exited (log: $dir/kafka.log)"
	fi
}

# Starts the given units (default: all) that are not running, from the existing
# config and storage, and waits until they answer. A member of a KRaft quorum
# only logs its start once a majority runs, so all are launched before any wait.
kafka_start() { # [unit...]
	local t=$SECONDS u units=() started=()
	[ -f "$KAFKA_DIR/server.properties" ] || die "kafka: no config in $KAFKA_DIR (run: $SCRIPT_PATH up kafka)"
	kafka_fetch
	if [ "$#" -eq 0 ]; then
		mapfile -t units < <(kafka_units)
	else
		units=("$@")
	fi
	for u in "${units[@]}"; do
		kafka_check_node "$u"
		if kafka_node_healthy "$u"; then
			log "kafka: $(kafka_unit_name "$u") already running on 127.0.0.1:$(kafka_unit_port "$u")"
			continue
		fi
		kafka_launch "$u"
		started+=("$u")
	done
	for u in "${started[@]+"${started[@]}"}"; do
		kafka_wait "$u"
	done
	if [ "${#started[@]}" -gt 0 ]; then
		log "kafka: ${started[*]} ready in $((SECONDS - t))s"
	fi
}

kafka_check_node() { # unit: N, or cN where there are dedicated controllers
	local n="${1#c}"
	case "$n" in
	'' | *[!0-9]*) die "kafka: a node is a number N (broker) or cN (controller), got '$1'" ;;
	esac
	if [ "$n" != "$1" ] && ! kafka_dedicated; then
		die "kafka: no controller $n (a lone node is its own controller)"
	fi
	[ "$n" -ge 1 ] && [ "$n" -le "$(kafka_node_count)" ] || die "kafka: no node $1 (the cluster has $(kafka_node_count))"
}

# Stops the given units, or all: the brokers first, so that their controlled
# shutdown still finds a controller.
kafka_stop_broker() { # [unit...]
	local u pidfiles=() controllers=()
	if [ "$#" -eq 0 ]; then
		for u in "$DIR"/kafka*.pid; do
			[ -e "$u" ] || continue
			case "$u" in
			*/kafka-controller-*) controllers+=("$u") ;;
			*) pidfiles+=("$u") ;;
			esac
		done
	else
		for u in "$@"; do
			kafka_check_node "$u"
			pidfiles+=("$(kafka_pidfile "$u")")
		done
	fi
	if [ "${#pidfiles[@]}" -gt 0 ] || [ "${#controllers[@]}" -gt 0 ]; then
		log "kafka: stopping ${*:-all}"
	fi
	if [ "${#pidfiles[@]}" -gt 0 ]; then
		stop_pidfiles 30 "${pidfiles[@]}"
	fi
	if [ "${#controllers[@]}" -gt 0 ]; then
		stop_pidfiles 30 "${controllers[@]}"
	fi
}

kafka_stop() {
	kafka_stop_broker
	rm -rf "$KAFKA_DIR"
	rm -f "$DIR/kafka.env"
}

# Sends a signal to one unit's JVM (kill -9, or freezing and thawing it).
kafka_signal() { # signal unit
	local pid
	kafka_check_node "$2"
	pid="$(pid_of "$(kafka_pidfile "$2")")"
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || die "kafka: $(kafka_unit_name "$2") is not running"
	kill "-$1" "$pid"
	log "kafka: $(kafka_unit_name "$2") (pid $pid) sent SIG$1"
}

# Prints the unit (cN) of the active controller: the leader of the highest
# epoch any controller recorded in its quorum state.
kafka_controller_leader() {
	local i n state epoch leader best=-1 id=""
	kafka_dedicated || die "kafka: a lone node is its own controller"
	n="$(kafka_node_count)"
	for ((i = 1; i <= n; i++)); do
		state="$(cat "$(kafka_node_dir "c$i")/data/__cluster_metadata-0/quorum-state" 2>/dev/null)" || continue
		epoch="$(grep -o '"leaderEpoch":[0-9]*' <<<"$state" | cut -d: -f2)"
		leader="$(grep -o '"leaderId":-\{0,1\}[0-9]*' <<<"$state" | cut -d: -f2)"
		if [ -n "$epoch" ] && [ -n "$leader" ] && [ "$leader" -gt 100 ] && [ "$epoch" -gt "$best" ]; then
			best="$epoch"
			id="$leader"
		fi
	done
	[ -n "$id" ] || die "kafka: no controller has recorded a leader"
	echo "c$((id - 100))"
}

kafka_up() {
	local t=$SECONDS n i id u units=() voters="" cluster_id ports=()
	n="$(kafka_node_count)"
	if [ -z "$KAFKA_NODES" ]; then
		KAFKA_NODES="$n"
		[ "$n" -gt 0 ] || KAFKA_NODES=1
	fi
	if [ "$n" -gt 0 ] && [ "$n" -ne "$KAFKA_NODES" ]; then
		log "kafka: the cluster has $n node(s), $KAFKA_NODES wanted; making a new one"
		kafka_stop
	elif [ "$n" -gt 1 ] && [ ! -f "$(kafka_node_dir c1)/server.properties" ]; then
		log "kafka: the cluster's nodes are their own controllers, dedicated ones wanted; making a new one"
		kafka_stop
	fi
	if kafka_healthy && kafka_log_started 1; then
		log "kafka: already running on $(kafka_bootstrap)"
	elif [ -f "$KAFKA_DIR/server.properties" ] && [ -f "$KAFKA_DIR/data/meta.properties" ] && (kafka_start); then
		# Stopped or crashed but intact: same storage and ports.
		log "kafka: running again on the same ports ($(kafka_bootstrap))"
	else
		kafka_stop
		kafka_fetch
		mkdir -p "$KAFKA_DIR"
		for ((i = 1; i <= KAFKA_NODES; i++)); do
			ports+=("$(pick_port)" "$(pick_port)")
			# Dedicated controllers take ids 101.. beside brokers 1..; a
			# lone node is its own controller.
			id=$i
			[ "$KAFKA_NODES" -gt 1 ] && id=$((100 + i))
			voters="$voters${voters:+,}$id@127.0.0.1:${ports[$((2 * i - 1))]}"
		done
		echo "${ports[*]}" >"$KAFKA_DIR/ports"
		# Same form as `kafka-storage random-uuid` (16 random bytes, base64url
		# without padding), without paying for another JVM start.
		cluster_id="-"
		while [ "${cluster_id#-}" != "$cluster_id" ]; do # a leading '-' reads as an option
			cluster_id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
		done
		mapfile -t units < <(kafka_units)
		log "kafka: formatting storage of ${#units[@]} process(es) (cluster $cluster_id)"
		for u in "${units[@]}"; do
			kafka_write_config "$u" "$KAFKA_NODES" "$voters"
			# One JVM formats one unit; the formats run side by side.
			kafka_java kafka.tools.StorageTool format -t "$cluster_id" \
				-c "$(kafka_node_dir "$u")/server.properties" --ignore-formatted \
				>>"$KAFKA_DIR/format.log" 2>&1 </dev/null &
		done
		for u in "${units[@]}"; do
			if ! wait -n; then
				cat "$KAFKA_DIR/format.log" >&2
				die "kafka: storage format failed"
			fi
		done
		kafka_start
		log "kafka: up in $((SECONDS - t))s"
	fi
	{
		echo "MESSENGER_TEST_KAFKA_BROKERS=$(kafka_bootstrap)"
		echo "MESSENGER_TEST_KAFKA_NODES=$(kafka_node_count)"
		echo "MESSENGER_TEST_KAFKA_PIDFILE=$DIR/kafka.pid"
		echo "MESSENGER_TEST_KAFKA_STOP=$(command_prefix) kafka-stop"
		echo "MESSENGER_TEST_KAFKA_START=$(command_prefix) kafka-start"
	} >"$DIR/kafka.env"
}

# ---------------------------------------------------------------------------
# S3 (versitygw over a directory)

S3_DIR="$DIR/s3"
VERSITYGW_VERSION="${MESSENGER_VERSITYGW_VERSION:-v1.8.0}"
S3_BIN="$CACHE_DIR/versitygw-$VERSITYGW_VERSION/bin/versitygw"
S3_REGION="us-east-1"

# Builds the gateway once per version into the cache, with the Go toolchain
# the project builds with.
s3_fetch() {
	[ -x "$S3_BIN" ] && return 0
	command -v go >/dev/null || die "s3: go is needed to build versitygw"
	log "s3: building versitygw $VERSITYGW_VERSION into $(dirname "$S3_BIN")"
	mkdir -p "$(dirname "$S3_BIN")"
	GOBIN="$(dirname "$S3_BIN")" GOFLAGS=-buildvcs=false go install "github.com/versity/versitygw/cmd/versitygw@$VERSITYGW_VERSION" >&2 ||
		die "s3: building versitygw failed"
}

s3_port() { cat "$S3_DIR/port" 2>/dev/null; }

s3_healthy() {
	local port
	port="$(s3_port)"
	[ -n "$port" ] && pid_alive "$DIR/s3.pid" && tcp_open "$port"
}

s3_stop() {
	if [ -s "$DIR/s3.pid" ]; then
		log "s3: stopping"
		stop_pidfile "$DIR/s3.pid" 10
	fi
	rm -rf "$S3_DIR"
	rm -f "$DIR/s3.env"
}

s3_up() {
	local t=$SECONDS port access secret pid
	if s3_healthy; then
		port="$(s3_port)"
		log "s3: already running on 127.0.0.1:$port"
	else
		s3_stop
		s3_fetch
		mkdir -p "$S3_DIR/data" "$S3_DIR/meta"
		port="$(pick_port)"
		echo "$port" >"$S3_DIR/port"
		printf 'messenger%s\n' "$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')" >"$S3_DIR/access"
		head -c 24 /dev/urandom | base64 | tr -d '+/=\n' >"$S3_DIR/secret"
		log "s3: starting versitygw on 127.0.0.1:$port"
		# shellcheck disable=SC2016
		ROOT_ACCESS_KEY_ID="$(cat "$S3_DIR/access")" ROOT_SECRET_ACCESS_KEY="$(cat "$S3_DIR/secret")" \
			setsid bash -c 'echo $$ >"$1"; shift; exec "$@"' _ "$DIR/s3.pid" \
			"$S3_BIN" --port "127.0.0.1:$port" --region "$S3_REGION" --quiet \
			posix --sidecar "$S3_DIR/meta" "$S3_DIR/data" \
			>>"$S3_DIR/versitygw.log" 2>&1 </dev/null 9>&- &
		disown $! 2>/dev/null || true
		wait_until 10 test -s "$DIR/s3.pid" || die "s3: no pidfile"
		pid="$(pid_of "$DIR/s3.pid")"
		if ! wait_until "$WAIT_TIMEOUT" s3_healthy; then
			tail -n 30 "$S3_DIR/versitygw.log" >&2
			die "s3: not ready after ${WAIT_TIMEOUT}s (pid $pid, log: $S3_DIR/versitygw.log)"
		fi
		log "s3: ready in $((SECONDS - t))s"
	fi
	access="$(cat "$S3_DIR/access")"
	secret="$(cat "$S3_DIR/secret")"
	{
		echo "MESSENGER_TEST_S3_ENDPOINT=127.0.0.1:$port"
		echo "MESSENGER_TEST_S3_ACCESS_KEY=$access"
		echo "MESSENGER_TEST_S3_SECRET_KEY=$secret"
		echo "MESSENGER_TEST_S3_REGION=$S3_REGION"
	} >"$DIR/s3.env"
}

# ---------------------------------------------------------------------------
# env output

# A shell command line that runs this script on this state dir, for the
# *_START/*_STOP variables (run them with sh -c).
command_prefix() {
	local p
	p="$(printf 'MESSENGER_SERVICES_DIR=%q MESSENGER_CACHE_DIR=%q MESSENGER_KAFKA_VERSION=%q' \
		"$DIR" "$CACHE_DIR" "$KAFKA_VERSION")"
	if [ -n "$REDIS_PASSWORD" ]; then
		p="$p $(printf 'MESSENGER_REDIS_PASSWORD=%q' "$REDIS_PASSWORD")"
	fi
	printf '%s %q' "$p" "$SCRIPT_PATH"
}

# Prints `export NAME='value'` for every service whose env fragment exists.
print_env() {
	local f line name value
	{
		echo "MESSENGER_SERVICES_DIR=$DIR"
		for f in "$DIR/postgres.env" "$DIR/redis.env" "$DIR/kafka.env" "$DIR/s3.env"; do
			if [ -f "$f" ]; then cat "$f"; fi
		done
	} | while IFS= read -r line; do
		name="${line%%=*}"
		value="${line#*=}"
		printf "export %s=%s\n" "$name" "$(quote "$value")"
	done
}

# Shell-quotes a value only when needed, so plain values stay readable.
quote() {
	case "$1" in
	*[!A-Za-z0-9_./:,@%+=?-]*) printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")" ;;
	*) printf '%s' "$1" ;;
	esac
}

write_env() {
	print_env >"$DIR/env.tmp"
	mv "$DIR/env.tmp" "$DIR/env"
}

# ---------------------------------------------------------------------------
# commands

parse_services() { # args... -> SERVICES array
	SERVICES=()
	local s
	if [ "$#" -eq 0 ]; then
		SERVICES=("${ALL_SERVICES[@]}")
		return
	fi
	for s in "$@"; do
		case "$s" in
		postgres | postgresql | pg) SERVICES+=(postgres) ;;
		redis) SERVICES+=(redis) ;;
		kafka) SERVICES+=(kafka) ;;
		s3) SERVICES+=(s3) ;;
		*) die "unknown service '$s' (want: ${ALL_SERVICES[*]})" ;;
		esac
	done
}

with_lock() {
	ensure_state_dir
	exec 9>"$DIR/.lock"
	if ! flock -w 600 9; then
		die "could not lock $DIR/.lock"
	fi
}

cmd_up() {
	parse_services "$@"
	with_lock
	log "up: ${SERVICES[*]} (state dir $DIR)"
	: >"$DIR/.picked-ports"
	ensure_packages "${SERVICES[@]}"
	local s
	for s in "${SERVICES[@]}"; do
		case "$s" in
		postgres) pg_up ;;
		redis) redis_up ;;
		kafka) kafka_up ;;
		s3) s3_up ;;
		esac
	done
	write_env
	log "up: done in $((SECONDS - T0))s; env in $DIR/env"
	cat "$DIR/env"
}

cmd_down() {
	parse_services "$@"
	if [ ! -d "$DIR" ]; then
		log "down: nothing to do ($DIR does not exist)"
		return 0
	fi
	[ -f "$DIR/$MARKER" ] || die "$DIR was not made by this script (no $MARKER); not touching it"
	with_lock
	local s
	for s in "${SERVICES[@]}"; do
		case "$s" in
		postgres) pg_stop ;;
		redis) redis_stop ;;
		kafka) kafka_stop ;;
		s3) s3_stop ;;
		esac
	done
	if [ "$#" -eq 0 ]; then
		# Everything is stopped: drop the whole state dir (the cache dir stays).
		exec 9>&-
		rm -rf "$DIR"
		log "down: done, removed $DIR"
	else
		write_env
		log "down: stopped ${SERVICES[*]}"
	fi
}

cmd_env() {
	[ -d "$DIR" ] || die "no services in $DIR (run: $SCRIPT_PATH up)"
	print_env
}

cmd_status() {
	parse_services "$@"
	local s rc=0 ports
	for s in "${SERVICES[@]}"; do
		case "$s" in
		postgres)
			if find_pg_bin >/dev/null && pg_healthy; then
				echo "postgres: running on 127.0.0.1:$(pg_port)"
			else
				echo "postgres: down"
				rc=1
			fi
			;;
		redis)
			if command -v redis-cli >/dev/null && redis_healthy; then
				read -r -a ports <<<"$(redis_ports)"
				echo "redis: running, current master $(redis_cli "${ports[2]}" SENTINEL get-master-addr-by-name "$REDIS_MASTER_NAME" | paste -sd: -)" \
					"(started as master 127.0.0.1:${ports[0]}, replica 127.0.0.1:${ports[1]}), sentinels 127.0.0.1:${ports[2]},${ports[3]},${ports[4]}"
			else
				echo "redis: down"
				rc=1
			fi
			;;
		kafka)
			local u
			[ "$(kafka_node_count)" -gt 0 ] || {
				echo "kafka: down"
				rc=1
			}
			for u in $(kafka_units); do
				if kafka_node_healthy "$u"; then
					echo "kafka: $(kafka_unit_name "$u") running on 127.0.0.1:$(kafka_unit_port "$u") (pid $(pid_of "$(kafka_pidfile "$u")"))"
				else
					echo "kafka: $(kafka_unit_name "$u") down"
					rc=1
				fi
			done
			;;
		s3)
			if s3_healthy; then
				echo "s3: running on 127.0.0.1:$(s3_port) (pid $(pid_of "$DIR/s3.pid"))"
			else
				echo "s3: down"
				rc=1
			fi
			;;
		esac
	done
	return "$rc"
}

cmd_kafka_stop() { # [node...]
	[ -f "$KAFKA_DIR/server.properties" ] || die "kafka: not set up in $KAFKA_DIR"
	kafka_stop_broker "$@"
	log "kafka: stopped ${*:-all}"
}

cmd_kafka_start() { # [node...]
	kafka_start "$@"
}

cmd_postgres_stop() {
	find_pg_bin || die "PostgreSQL binaries not found"
	pg_halt
	log "postgres: stopped (data kept)"
}

cmd_postgres_start() {
	find_pg_bin || die "PostgreSQL binaries not found"
	if pg_healthy; then
		log "postgres: already running on 127.0.0.1:$(pg_port)"
		return 0
	fi
	pg_start || die "postgres: could not start the existing cluster in $PG_DIR"
}

cmd_kafka_signal() { # signal node
	[ "$#" -eq 2 ] || die "kafka: which node? (1..$(kafka_node_count), or c1.. for a controller)"
	kafka_signal "$@"
}

cmd_redis_start() {
	command -v redis-server >/dev/null || die "redis-server not installed"
	redis_restart_dead "$WAIT_TIMEOUT" || die "redis: not healthy after restarting dead processes (logs in $REDIS_DIR)"
	log "redis: all processes running"
}

usage() {
	sed -n '2,/^set -euo/p' "$SCRIPT_PATH" | sed -e '/^set -euo/d' -e 's/^# \{0,1\}//' >&2
}

main() {
	local cmd="${1:-}"
	[ "$#" -gt 0 ] && shift
	case "$cmd" in
	up) cmd_up "$@" ;;
	down) cmd_down "$@" ;;
	env) cmd_env ;;
	status) cmd_status "$@" ;;
	kafka-stop) cmd_kafka_stop "$@" ;;
	kafka-start) cmd_kafka_start "$@" ;;
	kafka-kill) cmd_kafka_signal KILL "$@" ;;
	kafka-pause) cmd_kafka_signal STOP "$@" ;;
	kafka-resume) cmd_kafka_signal CONT "$@" ;;
	kafka-controller-leader) kafka_controller_leader ;;
	redis-start) cmd_redis_start ;;
	postgres-stop) cmd_postgres_stop ;;
	postgres-start) cmd_postgres_start ;;
	postgres-kill) pg_kill ;;
	-h | --help | help) usage ;;
	*)
		usage
		exit 2
		;;
	esac
}

main "$@"
