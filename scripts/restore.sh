#!/usr/bin/env bash
# Restores PostgreSQL from a base backup (scripts/backup.sh base) and the WAL
# archive to a point in time (docs/backup.md):
#
#   scripts/restore.sh prepare BACKUP ARCHIVE DATADIR [TARGET_TIME]
#       copy BACKUP into the new, empty DATADIR and set up recovery: WAL from
#       ARCHIVE (restore_command), up to TARGET_TIME ('2026-01-02 03:04:05+00';
#       default: the end of the archive), then promote. Start the cluster
#       (pg_ctl start) and it recovers, then accepts writes.
#   scripts/restore.sh offsets
#       what the restored database holds of each chat-messages partition
#       (psql with libpq's variables): the consumer group
#       message-delivery-group must resume there, so that the messages
#       acknowledged after the target are stored again from Kafka.
#       `messenger restore-offsets` sets them.
#
# Run prepare as the user that will own DATADIR (postgres).
set -euo pipefail

die() {
	echo "restore: $*" >&2
	exit 1
}

prepare() {
	local backup="$1" archive="$2" data="$3" target="${4:-}"
	[ -f "$backup/backup_manifest" ] || die "$backup is not a base backup (no backup_manifest)"
	[ -d "$archive" ] || die "no archive at $archive"
	if [ -e "$data" ] && [ -n "$(ls -A "$data")" ]; then die "$data is not empty"; fi
	mkdir -p "$data"
	chmod 700 "$data"
	cp -a "$backup/." "$data/"
	rm -f "$data/backup_end" "$data/postmaster.pid" "$data/postmaster.opts"
	{
		echo ""
		echo "# point-in-time recovery (scripts/restore.sh)"
		echo "restore_command = 'cp \"$archive/%f\" \"%p\"'"
		# The restored cluster must not archive into the original's archive.
		echo "archive_mode = off"
		if [ -n "$target" ]; then
			echo "recovery_target_time = '$target'"
			echo "recovery_target_inclusive = true"
		fi
		echo "recovery_target_action = promote"
	} >>"$data/postgresql.auto.conf"
	touch "$data/recovery.signal"
}

# The highest offset stored per partition; the next record to consume is one
# above. Partitions absent here have nothing stored: reset them to the start
# of the retained log.
offsets() {
	psql -X -v ON_ERROR_STOP=1 -At -F ' ' -c \
		"SELECT kafka_partition, max(kafka_offset) + 1 FROM chats WHERE kafka_offset IS NOT NULL GROUP BY kafka_partition ORDER BY kafka_partition::int"
}

case "${1:-}" in
prepare)
	shift
	[ "$#" -ge 3 ] || die "usage: $0 prepare BACKUP ARCHIVE DATADIR [TARGET_TIME]"
	prepare "$@"
	;;
offsets) offsets ;;
*) die "usage: $0 prepare BACKUP ARCHIVE DATADIR [TARGET_TIME] | offsets" ;;
esac
