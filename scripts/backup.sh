#!/usr/bin/env bash
# PostgreSQL backups with the standard tools: continuous WAL archiving
# (archive_command) plus base backups (pg_basebackup), which together restore
# to any point in time after the oldest base backup kept (scripts/restore.sh,
# docs/backup.md).
#
#   scripts/backup.sh archive-command ARCHIVE   the archive_command line for postgresql.conf
#   scripts/backup.sh base DEST                 a verified base backup into DEST (a new directory)
#
# base connects with libpq's variables (PGHOST, PGPORT, PGUSER, PGPASSWORD);
# the user needs the REPLICATION attribute (or is a superuser), and
# pg_hba.conf must admit it to the replication pseudo-database.
set -euo pipefail

die() {
	echo "backup: $*" >&2
	exit 1
}

pg_bin() {
	local d
	for d in /usr/lib/postgresql/15/bin /usr/lib/postgresql/*/bin; do
		[ -x "$d/pg_basebackup" ] && { echo "$d"; return; }
	done
	dirname "$(command -v pg_basebackup || die "pg_basebackup not found")"
}

# archive_command: copy the finished WAL segment under a temporary name, flush
# it to disk, then rename it, so the archive never holds a partial segment
# under a real name; refuse to overwrite (a segment archived twice with other
# contents means two clusters share one archive).
archive_command() {
	local dir="$1"
	printf "test ! -f '%s/%%f' && cp %%p '%s/%%f.part' && sync '%s/%%f.part' && mv '%s/%%f.part' '%s/%%f'\n" \
		"$dir" "$dir" "$dir" "$dir" "$dir"
}

# base: a plain-format copy of the cluster with the WAL needed to make it
# consistent streamed alongside (-X stream), a checkpoint forced at once
# (--checkpoint=fast), a manifest with SHA-256 checksums, then checked by
# pg_verifybackup against that manifest. backup_end records when it ended.
base() {
	local dest="$1" bin
	[ ! -e "$dest" ] || die "$dest exists"
	bin="$(pg_bin)"
	"$bin/pg_basebackup" -D "$dest" -Fp -X stream --checkpoint=fast \
		--manifest-checksums=SHA256 --label "messenger $(date -u +%FT%TZ)" --no-password
	"$bin/pg_verifybackup" --quiet "$dest"
	date -u +"%F %T.%N+00" >"$dest/backup_end"
	echo "$dest"
}

case "${1:-}" in
archive-command) archive_command "${2:?archive-command ARCHIVE}" ;;
base) base "${2:?base DEST}" ;;
*) die "usage: $0 archive-command ARCHIVE | base DEST" ;;
esac
