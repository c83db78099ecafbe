#!/usr/bin/env bash
# A durable PostgreSQL cluster of its own, for the backup and restore test and
# for trying docs/backup.md by hand (scripts/services.sh's cluster trades
# durability for speed and archives nothing). Runs the server as the postgres
# user when called as root.
#
#   scripts/pgcluster.sh workdir                  a new directory the postgres user owns; prints it
#   scripts/pgcluster.sh init DATADIR PORT ARCHIVE initdb with fsync, full-page writes, WAL archiving to ARCHIVE
#   scripts/pgcluster.sh start DATADIR PORT        start on 127.0.0.1:PORT and wait until it accepts writes
#                                                  (a restored cluster: until its recovery ends)
#   scripts/pgcluster.sh stop DATADIR              fast shutdown
#   scripts/pgcluster.sh as-postgres CMD...        run CMD as the cluster's user
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

die() {
	echo "pgcluster: $*" >&2
	exit 1
}

PG_BIN=""
for d in /usr/lib/postgresql/15/bin /usr/lib/postgresql/*/bin; do
	if [ -x "$d/initdb" ]; then PG_BIN="$d" && break; fi
done
[ -n "$PG_BIN" ] || die "PostgreSQL server binaries not found (apt-get install postgresql)"
export PATH="$PG_BIN:$PATH"

as_pg() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- env PATH="$PATH" "$@"
	else
		"$@"
	fi
}

workdir() {
	local d
	d="$(mktemp -d /tmp/messenger-pgcluster.XXXXXX)"
	chmod 755 "$d"
	if [ "$(id -u)" -eq 0 ]; then chown postgres:postgres "$d"; fi
	echo "$d"
}

init() {
	local data="$1" port="$2" archive="$3"
	as_pg mkdir -p "$archive"
	as_pg initdb -D "$data" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >/dev/null
	as_pg tee -a "$data/postgresql.conf" >/dev/null <<CONF

# scripts/pgcluster.sh: durable, archiving
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = ''
fsync = on
synchronous_commit = on
full_page_writes = on
wal_level = replica
max_wal_senders = 4
archive_mode = on
archive_command = '$(bash "$ROOT/scripts/backup.sh" archive-command "$archive" | sed "s/'/''/g")'
archive_timeout = 60
log_min_messages = warning
CONF
	as_pg tee "$data/pg_hba.conf" >/dev/null <<CONF
local all all trust
host  all all 127.0.0.1/32 trust
host  replication all 127.0.0.1/32 trust
CONF
}

start() {
	local data="$1" port="$2"
	as_pg pg_ctl -D "$data" -l "$data/../$(basename "$data").log" -o "-p $port" -w -t 120 start >/dev/null ||
		{ tail -n 30 "$data/../$(basename "$data").log" >&2; die "start failed"; }
	pg_isready -q -h 127.0.0.1 -p "$port" -t 30 || die "not ready on $port"
	# A restored cluster accepts read-only connections while it recovers;
	# wait for the end of recovery (its promotion).
	local i
	for ((i = 0; i < 600; i++)); do
		[ "$(psql -X -h 127.0.0.1 -p "$port" -U postgres -Atc 'SELECT pg_is_in_recovery()' 2>/dev/null)" = f ] && return 0
		sleep 0.2
	done
	die "still recovering after 120s"
}

stop() { as_pg pg_ctl -D "$1" -m fast -w -t 60 stop >/dev/null; }

case "${1:-}" in
workdir) workdir ;;
init) init "${2:?DATADIR}" "${3:?PORT}" "${4:?ARCHIVE}" ;;
start) start "${2:?DATADIR}" "${3:?PORT}" ;;
stop) stop "${2:?DATADIR}" ;;
as-postgres)
	shift
	as_pg "$@"
	;;
*) die "usage: $0 workdir | init DATADIR PORT ARCHIVE | start DATADIR PORT | stop DATADIR | as-postgres CMD..." ;;
esac
