#!/usr/bin/env bash
# The fault suite (internal/chaos, go test -tags chaos): starts a stack of its
# own in .services-chaos (three Kafka nodes, a durable PostgreSQL, Redis
# Sentinel), runs every scenario against two server nodes, prints the table,
# and stops the stack whatever happens.
#
#   scripts/chaos.sh                         the full run (about 2 min a scenario)
#   MESSENGER_CHAOS_SHORT=1 scripts/chaos.sh the short run make test does
#
# Environment: MESSENGER_CHAOS_SCENARIOS (a regexp of scenario names),
# MESSENGER_CHAOS_LOAD (e.g. 60s), MESSENGER_CHAOS_FAULT (how long a fault
# lasts), MESSENGER_CHAOS_RATE (sends/s),
# MESSENGER_CHAOS_REPORT (a file for the Markdown table),
# MESSENGER_CHAOS_RUNS (runs in a row, default 1), and any MESSENGER_KAFKA_*
# server setting to try.
set -euo pipefail
cd "$(dirname "$0")/.."
export GOTOOLCHAIN=auto
export MESSENGER_SERVICES_DIR="${MESSENGER_CHAOS_SERVICES_DIR:-$PWD/.services-chaos}"
export MESSENGER_KAFKA_NODES=3 MESSENGER_POSTGRES_DURABLE=1
# A broker restarted by a scenario may take minutes on a loaded machine; a
# slow start is not the fault under test.
export MESSENGER_SERVICES_TIMEOUT="${MESSENGER_SERVICES_TIMEOUT:-300}"

cleanup() {
	if [ -z "${MESSENGER_KEEP_SERVICES:-}" ]; then
		bash scripts/services.sh down >&2 || true
	fi
}
trap cleanup EXIT

echo "== chaos: starting three Kafka nodes, a durable PostgreSQL and Redis Sentinel in $MESSENGER_SERVICES_DIR" >&2
exports=$(bash scripts/services.sh up)
eval "$exports"

timeout=30m
[ -n "${MESSENGER_CHAOS_SHORT:-}" ] && timeout=10m
for ((run = 1; run <= ${MESSENGER_CHAOS_RUNS:-1}; run++)); do
	echo "== chaos: run $run" >&2
	go test -tags chaos -count=1 -timeout "$timeout" -v -run '^TestChaos$' ./internal/chaos/ 2>&1 |
		grep --line-buffered -E -v '^=== (RUN|PAUSE|CONT)' || exit 1
done
