#!/usr/bin/env bash
# Runs every test against real local services: starts PostgreSQL, Redis
# (master, replica, three Sentinels) and Kafka, runs vet and the race-enabled
# test suite, and stops the services whatever happens.
set -euo pipefail
cd "$(dirname "$0")/.."

started=0
cleanup() {
	if [ "$started" = 1 ] && [ -z "${MESSENGER_KEEP_SERVICES:-}" ]; then
		bash scripts/services.sh down >&2 || true
	fi
}
trap cleanup EXIT

echo "== prometheus and promtool (the monitoring tests run them)" >&2
bash scripts/prometheus.sh install

echo "== starting local services" >&2
started=1
exports=$(bash scripts/services.sh up)
eval "$exports"

echo "== go vet" >&2
go vet ./...

echo "== go test -race" >&2
go test -race -count=1 -timeout 45m ${MESSENGER_TEST_FLAGS:-} ./...
