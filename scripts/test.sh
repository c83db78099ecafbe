#!/usr/bin/env bash
# Runs every test against real local services: starts PostgreSQL, Redis
# (master, replica, three Sentinels) and Kafka, installs chromium for the web
# client's browser tests and the Node packages the Socket.IO tests drive
# (scripts/node-deps.sh), runs vet, the vulnerability check
# (scripts/vulncheck.sh), the race-enabled test suite and every fuzz target
# for MESSENGER_FUZZTIME each (default 10s; scripts/fuzz.sh) and a short run
# of the fault suite (scripts/chaos.sh), and stops the services whatever
# happens. After the race-enabled run, with Podman's Docker API and local
# images (scripts/containers.sh), the adapters' contract suites run once more
# on containers started by testcontainers, and the compose stack end to end.
set -euo pipefail
cd "$(dirname "$0")/.."
# Build and test with the toolchain go.mod pins, even where the installation
# defaults to GOTOOLCHAIN=local.
export GOTOOLCHAIN=auto

started=0
containers=0
cleanup() {
	if [ "$containers" = 1 ] && [ -z "${MESSENGER_KEEP_SERVICES:-}" ]; then
		bash scripts/containers.sh down >&2 || true
	fi
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

echo "== chromium and nginx for the end-to-end tests" >&2
browser=$(bash scripts/browser.sh)
eval "$browser"

echo "== node packages" >&2
bash scripts/node-deps.sh

echo "== go vet" >&2
go vet ./...

echo "== govulncheck" >&2
bash scripts/vulncheck.sh

echo "== go test -race" >&2
go test -race -count=1 -timeout 45m ${MESSENGER_TEST_FLAGS:-} ./...

echo "== containers: Podman, local images, the Docker API socket (scripts/containers.sh)" >&2
containers=1
container_env=$(bash scripts/containers.sh up)
(
	eval "$container_env"
	echo "== go test on containers: contract suites of postgres, redis (Sentinel), kafka; the embedding example" >&2
	MESSENGER_TEST_CONTAINERS=1 go test -race -count=1 -timeout 20m \
		-run 'TestUserStore|TestFriendStore|TestTokenStore|TestMessageStore|TestAccountStore|TestLogContract|TestPresenceContract|TestUnreadCacheContract|TestRateLimiterContract|TestNodeDeliversThroughRealServices' \
		./adapters/postgres ./adapters/redis ./adapters/kafka ./testenv/example
	echo "== go test: the compose stack end to end through nginx" >&2
	MESSENGER_TEST_COMPOSE=1 go test -count=1 -timeout 30m -v -run 'TestComposeStackEndToEnd$' ./internal/server/
)

echo "== fuzz" >&2
FUZZTIME=${MESSENGER_FUZZTIME:-10s} bash scripts/fuzz.sh

echo "== chaos, short (a stack of its own: three Kafka nodes, a durable PostgreSQL)" >&2
MESSENGER_CHAOS_SHORT=1 bash scripts/chaos.sh
