#!/usr/bin/env bash
# Installs the Node packages the tests drive: testdata/socketio, the real
# socket.io-client at the version its package-lock.json pins, with `npm ci`.
# It does nothing when the installed packages match the lockfile. npm's
# download cache lives in the cache directory (MESSENGER_CACHE_DIR, default
# .cache), node_modules beside the lockfile; both are git-ignored.
set -euo pipefail
cd "$(dirname "$0")/.."

dir=testdata/socketio
for tool in node npm; do
	if ! command -v "$tool" >/dev/null; then
		echo "node-deps: $tool is not installed; the Socket.IO tests run the real socket.io-client on Node.js" >&2
		exit 1
	fi
done
cache="${MESSENGER_CACHE_DIR:-.cache}"
mkdir -p "$cache"
cache="$(cd "$cache" && pwd)"

want="$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)"
stamp="$dir/node_modules/.lockfile-sha256"
exec 8>"$cache/.node-deps.lock"
flock -w 300 8 || { echo "node-deps: could not lock $cache/.node-deps.lock" >&2; exit 1; }
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
	exit 0
fi
echo "node-deps: npm ci in $dir" >&2
(cd "$dir" && npm ci --no-audit --no-fund --ignore-scripts --cache "$cache/npm" >&2)
echo "$want" >"$stamp"
