#!/usr/bin/env bash
# Fails when the module calls code with a published vulnerability: its own
# dependencies or the standard library of the toolchain go.mod pins.
#
# govulncheck reads a local copy of the Go vulnerability database, so the
# check needs no network but the Go module proxy: the database's OSV entries
# are published in the golang.org/x/vulndb module (data/osv), and that
# module's indexdb command turns them into the layout `govulncheck -db
# file://` reads. The result is cached per database version.
#
#   MESSENGER_CACHE_DIR  where the binaries and the database are kept (default .cache)
#   VULNDB_VERSION       version of golang.org/x/vulndb (default: the newest the
#                        proxy serves, or the newest cached one when it cannot
#                        be reached)
set -euo pipefail
cd "$(dirname "$0")/.."

# The toolchain line of go.mod is the standard library that is checked (and
# built): switch to it even where the installation defaults to GOTOOLCHAIN=local.
export GOTOOLCHAIN=auto

govulncheck_version=v1.10.0
cache=$(mkdir -p "${MESSENGER_CACHE_DIR:-.cache}" && cd "${MESSENGER_CACHE_DIR:-.cache}" && pwd)
bin=$cache/bin
dbs=$cache/vulndb
mkdir -p "$bin" "$dbs"

log() { echo "[vulncheck] $*" >&2; }

version=${VULNDB_VERSION:-}
if [ -z "$version" ]; then
	if ! version=$(go list -m -f '{{.Version}}' golang.org/x/vulndb@latest 2>/dev/null); then
		version=$(find "$dbs" -mindepth 2 -maxdepth 2 -name complete -printf '%h\n' 2>/dev/null | xargs -r -n1 basename | sort | tail -n1)
		[ -n "$version" ] || { log "cannot reach the module proxy and no database is cached"; exit 1; }
		log "module proxy unreachable; using the cached database $version"
	fi
fi

db=$dbs/$version
if [ ! -f "$db/complete" ]; then
	log "building the vulnerability database from golang.org/x/vulndb@$version"
	src=$(go mod download -json "golang.org/x/vulndb@$version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
	[ -d "$src/data/osv" ] || { log "golang.org/x/vulndb@$version has no data/osv"; exit 1; }
	GOBIN=$bin/vulndb-$version go install "golang.org/x/vulndb/cmd/indexdb@$version"
	rm -rf "$db.tmp"
	"$bin/vulndb-$version/indexdb" -vulns "$src/data/osv" -out "$db.tmp"
	touch "$db.tmp/complete"
	rm -rf "$db" && mv "$db.tmp" "$db"
fi

if [ ! -x "$bin/govulncheck-$govulncheck_version/govulncheck" ]; then
	GOBIN=$bin/govulncheck-$govulncheck_version go install "golang.org/x/vuln/cmd/govulncheck@$govulncheck_version"
fi

log "$(go version), database golang.org/x/vulndb@$version"
# Exit status 3 means a vulnerability is reachable from the module's code.
"$bin/govulncheck-$govulncheck_version/govulncheck" -db "file://$db" ./...
