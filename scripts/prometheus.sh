#!/usr/bin/env bash
# Prometheus for tests, as a plain process on loopback (Debian's package; no
# Docker), and the static checks of deploy/prometheus:
#
#   scripts/prometheus.sh install                  install prometheus and promtool when missing
#   scripts/prometheus.sh check                    promtool: config, rules, rule unit tests
#   scripts/prometheus.sh start DIR PORT TARGET... scrape TARGETs (host:port of the nodes'
#                                                  metrics listeners) every second as job
#                                                  "messenger", evaluate deploy/prometheus/alerts.yml,
#                                                  serve on 127.0.0.1:PORT; print the URL once ready
#   scripts/prometheus.sh stop DIR                 stop the one started in DIR
#
# DIR holds the generated config, the TSDB, the log and the pid file.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RULES="$ROOT/deploy/prometheus/alerts.yml"

log() { printf '[prometheus] %s\n' "$*" >&2; }
die() {
	log "ERROR: $*"
	exit 1
}

install() {
	command -v prometheus >/dev/null && command -v promtool >/dev/null && return 0
	[ "$(id -u)" -eq 0 ] || die "prometheus is missing; install Debian's package: apt-get install prometheus"
	log "installing Debian's prometheus package"
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y --no-install-recommends prometheus >/dev/null 2>&1 ||
		{ apt-get update >/dev/null 2>&1 && apt-get install -y --no-install-recommends prometheus >/dev/null; } ||
		die "apt-get install prometheus failed"
	# The package starts a system service where an init system runs; the
	# tests start their own.
	if command -v service >/dev/null; then service prometheus stop >/dev/null 2>&1 || true; fi
}

check() {
	install
	cd "$ROOT/deploy/prometheus"
	promtool check config prometheus.yml >&2
	promtool check rules alerts.yml >&2
	promtool test rules alerts_test.yml >&2
}

start() {
	local dir="$1" port="$2" targets="" t i
	shift 2
	[ "$#" -gt 0 ] || die "start: no target"
	install
	mkdir -p "$dir/data"
	for t in "$@"; do targets="$targets\"$t\", "; done
	cat >"$dir/prometheus.yml" <<CONF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files: ["$RULES"]
scrape_configs:
  - job_name: messenger
    static_configs:
      - targets: [${targets%, }]
CONF
	prometheus --config.file="$dir/prometheus.yml" --storage.tsdb.path="$dir/data" \
		--web.listen-address="127.0.0.1:$port" --web.enable-lifecycle \
		>"$dir/prometheus.log" 2>&1 </dev/null &
	echo $! >"$dir/prometheus.pid"
	for ((i = 0; i < 300; i++)); do
		if curl -fsS "http://127.0.0.1:$port/-/ready" >/dev/null 2>&1; then
			echo "http://127.0.0.1:$port"
			return 0
		fi
		kill -0 "$(cat "$dir/prometheus.pid")" 2>/dev/null || {
			tail -n 20 "$dir/prometheus.log" >&2
			die "prometheus exited"
		}
		sleep 0.2
	done
	tail -n 20 "$dir/prometheus.log" >&2
	die "prometheus not ready within 60s"
}

stop() {
	local dir="$1" pid i
	[ -s "$dir/prometheus.pid" ] || return 0
	pid="$(cat "$dir/prometheus.pid")"
	kill "$pid" 2>/dev/null || true
	for ((i = 0; i < 100; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -9 "$pid" 2>/dev/null || true
	rm -f "$dir/prometheus.pid"
}

cmd="${1:-}"
shift || true
case "$cmd" in
install) install ;;
check) check ;;
start) start "$@" ;;
stop) stop "$@" ;;
*) die "usage: $0 install | check | start DIR PORT TARGET... | stop DIR" ;;
esac
