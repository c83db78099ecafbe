#!/usr/bin/env bash
# Makes sure the Debian packages the end-to-end tests drive are installed:
# chromium for the web client's browser tests, and nginx, in which the
# Socket.IO cluster test runs deploy/nginx.conf. Prints the export the tests
# read:
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

# The packages to install: each one whose command is missing.
packages=()
find_chromium >/dev/null || packages+=(chromium fonts-dejavu-core)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || packages+=(nginx-light)

if [ ${#packages[@]} -gt 0 ]; then
	if [ "$(id -u)" != 0 ]; then
		log "missing: ${packages[*]}: install these Debian packages, or run as root"
		exit 1
	fi
	command -v apt-get >/dev/null || { log "missing: ${packages[*]}, and there is no apt-get"; exit 1; }
	aptlog=$(mktemp -t messenger-apt.XXXXXX)
	log "apt-get update"
	DEBIAN_FRONTEND=noninteractive apt-get update -q >>"$aptlog" 2>&1 </dev/null || { tail -n 20 "$aptlog" >&2; exit 1; }
	log "apt-get install -y ${packages[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${packages[@]}" \
		>>"$aptlog" 2>&1 </dev/null || { tail -n 20 "$aptlog" >&2; exit 1; }
	rm -f "$aptlog"
fi
path=$(find_chromium) || { log "chromium still missing after the install"; exit 1; }
log "chromium: $path"
printf 'export MESSENGER_CHROMIUM=%q\n' "$path"
