#!/usr/bin/env bash
# Makes sure Debian's chromium is installed for the web client's browser tests
# and prints the export the tests read:
#
#   eval "$(scripts/browser.sh)"   # export MESSENGER_CHROMIUM=/usr/bin/chromium
#
# Installs the package with apt-get when it is missing (as root). Progress
# goes to stderr; stdout carries only the export line.
set -euo pipefail

log() { printf 'browser: %s\n' "$*" >&2; }

find_chromium() {
	local c
	for c in "${MESSENGER_CHROMIUM:-}" chromium chromium-browser; do
		[ -n "$c" ] || continue
		if command -v "$c" >/dev/null 2>&1; then
			command -v "$c"
			return 0
		fi
	done
	return 1
}

if ! path=$(find_chromium); then
	if [ "$(id -u)" != 0 ]; then
		log "chromium is missing: install Debian's chromium package, or run as root"
		exit 1
	fi
	command -v apt-get >/dev/null || { log "chromium is missing and there is no apt-get"; exit 1; }
	aptlog=$(mktemp -t messenger-apt.XXXXXX)
	log "apt-get update"
	DEBIAN_FRONTEND=noninteractive apt-get update -q >>"$aptlog" 2>&1 </dev/null || { tail -n 20 "$aptlog" >&2; exit 1; }
	log "apt-get install -y chromium"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium fonts-dejavu-core \
		>>"$aptlog" 2>&1 </dev/null || { tail -n 20 "$aptlog" >&2; exit 1; }
	rm -f "$aptlog"
	path=$(find_chromium) || { log "chromium still missing after the install"; exit 1; }
fi
log "chromium: $path"
printf 'export MESSENGER_CHROMIUM=%q\n' "$path"
