#!/usr/bin/env bash
# Containers on a machine without Docker: Podman serves the Docker API on a
# unix socket, and the images the tests and the compose stack need are built
# here from Debian packages (no registry is needed).
#
#   scripts/containers.sh up       install + configure Podman, build the images,
#                                  start the API socket; prints `export` lines
#   scripts/containers.sh down     remove the containers started under this state
#                                  dir's session, stop the API socket
#   scripts/containers.sh images   build (or reuse) the images only
#   scripts/containers.sh install  Debian packages and containers.conf only
#
# Packages (apt-get): podman, runc (Debian's crun fails on hybrid cgroups
# here), debootstrap, docker-compose. containers.conf gets lowered default
# ulimits (the default ones make container start fail with "setrlimit ...
# Operation not permitted" in a restricted host) and runtime = "runc".
#
# Images, all tagged localhost/messenger-*, each labelled messenger.hash with
# a hash of what went into it, so a rerun that changes nothing takes seconds:
#   messenger-base:bookworm    debootstrap --variant=minbase bookworm, podman import
#   messenger-postgres:15      postgresql-15 with an entrypoint that reads
#                              POSTGRES_USER/PASSWORD/DB like the official image
#   messenger-redis:7          redis-server (7.0 in bookworm): master, replica, Sentinel
#   messenger-kafka:<version>  a JRE + the jars scripts/services.sh fetches, started
#                              from KAFKA_* variables like apache/kafka's image
#   messenger-nginx:latest     nginx
#   messenger-go:latest        the host's Go toolchain + gcc: stand-in for golang:*-bookworm
#   messenger-runtime:latest   a nonroot user on the base: stand-in for distroless
#   messenger-server:latest    the Dockerfile built with those two stand-ins
#
# Testcontainers' reaper (ryuk) is off (TESTCONTAINERS_RYUK_DISABLED=true): its
# image is not built here. Instead every container testenv starts carries the
# label messenger.session=<this up's session>, and `down` removes them.
# TESTCONTAINERS_HOST_OVERRIDE=127.0.0.1: where /.dockerenv exists (a machine
# that is itself a container), testcontainers would otherwise look for the
# published ports on the container network's gateway.
#
# Environment:
#   MESSENGER_CONTAINERS_DIR   state dir (socket, pid, log; default .containers)
#   MESSENGER_CACHE_DIR        download cache shared with scripts/services.sh
#   MESSENGER_KAFKA_VERSION    default 4.1.2
#   MESSENGER_DEBIAN_MIRROR    default: the first Debian mirror in apt's sources
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
abspath() { case "$1" in /*) echo "$1" ;; *) echo "$ROOT/$1" ;; esac; }
DIR="$(abspath "${MESSENGER_CONTAINERS_DIR:-.containers}")"
CACHE_DIR="$(abspath "${MESSENGER_CACHE_DIR:-.cache}")"
KAFKA_VERSION="${MESSENGER_KAFKA_VERSION:-4.1.2}"
SOCK="$DIR/podman.sock"
SUITE=bookworm

log() { echo "containers: $*" >&2; }
die() {
	log "error: $*"
	exit 1
}

# ---------------------------------------------------------------------------
# Packages and configuration

install_packages() {
	local pkgs=() p
	for p in podman runc debootstrap docker-compose; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || pkgs+=("$p")
	done
	if [ ${#pkgs[@]} -gt 0 ]; then
		log "apt-get install ${pkgs[*]}"
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq >&2
		apt-get install -y -qq --no-install-recommends "${pkgs[@]}" \
			netavark aardvark-dns conmon >&2 </dev/null
	fi
	local conf=/etc/containers/containers.conf want
	want='# written by scripts/containers.sh
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]

[engine]
runtime = "runc"'
	if [ "$(cat "$conf" 2>/dev/null)" != "$want" ]; then
		mkdir -p /etc/containers
		[ -f "$conf" ] && cp -n "$conf" "$conf.orig"
		printf '%s\n' "$want" >"$conf"
		log "wrote $conf (runc, lowered default ulimits)"
	fi
}

# ---------------------------------------------------------------------------
# Images

image_hash() { # image -> its messenger.hash label, or nothing
	podman image inspect --format '{{index .Labels "messenger.hash"}}' "$1" 2>/dev/null || true
}

# fresh IMAGE KEY: whether IMAGE exists, built from KEY.
fresh() { [ "$(image_hash "$1")" = "$2" ]; }

key() { # any inputs... -> a short hash
	cat "$@" | sha256sum | cut -c1-16
}

debian_mirror() {
	if [ -n "${MESSENGER_DEBIAN_MIRROR:-}" ]; then
		echo "$MESSENGER_DEBIAN_MIRROR"
		return
	fi
	local m
	m="$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '/^URIs:/ && $2 ~ /\/debian\/?$/ {print $2; exit}')"
	[ -n "$m" ] || m="$(awk '$1 == "deb" && $2 ~ /\/debian\/?$/ {print $2; exit}' /etc/apt/sources.list 2>/dev/null)"
	echo "${m:-http://deb.debian.org/debian}"
}

BASE_IMAGE=localhost/messenger-base:$SUITE

build_base() {
	local k mirror work
	mirror="$(debian_mirror)"
	k="$(key <(declare -f build_base) <(echo "$mirror $SUITE"))"
	fresh "$BASE_IMAGE" "$k" && return 0
	log "base: debootstrap --variant=minbase $SUITE from $mirror"
	work="$(mktemp -d "$DIR/base.XXXXXX")"
	debootstrap --variant=minbase "$SUITE" "$work/root" "$mirror" >"$work/debootstrap.log" 2>&1 ||
		{
			tail -n 30 "$work/debootstrap.log" >&2
			die "debootstrap failed"
		}
	chroot "$work/root" apt-get clean
	rm -rf "$work/root/var/lib/apt/lists/"* "$work/root/var/cache/apt/"*.bin
	tar -C "$work/root" --numeric-owner -c . |
		podman import --change "LABEL messenger.hash=$k" --change 'CMD ["/bin/bash"]' - "$BASE_IMAGE" >/dev/null
	rm -rf "$work"
	log "base: $BASE_IMAGE"
}

CHROOT_MOUNTS=()
unmount_chroot() {
	local m
	for m in "${CHROOT_MOUNTS[@]}"; do umount -l "$m" 2>/dev/null || true; done
	CHROOT_MOUNTS=()
}

# derive IMAGE KEY PACKAGES SETUP CHANGES...: a copy of the base's root with
# PACKAGES installed by apt-get in a chroot, then the function SETUP run with
# the root dir as $1, imported as IMAGE with the Dockerfile-style CHANGES.
derive() {
	local image="$1" k="$2" pkgs="$3" setup="$4" work mnt c
	shift 4
	fresh "$image" "$k" && return 0
	local t=$SECONDS
	log "$image: building"
	work="$(mktemp -d "$DIR/image.XXXXXX")"
	mnt="$(podman image mount "$BASE_IMAGE")"
	cp -a "$mnt/." "$work/root"
	podman image unmount "$BASE_IMAGE" >/dev/null
	local root="$work/root"
	cp /etc/resolv.conf "$root/etc/resolv.conf"
	printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d" # no daemon starts in the chroot
	chmod +x "$root/usr/sbin/policy-rc.d"
	mount -t proc proc "$root/proc" && CHROOT_MOUNTS+=("$root/proc")
	mount --bind /dev "$root/dev" && CHROOT_MOUNTS+=("$root/dev")
	trap unmount_chroot EXIT
	if [ -n "$pkgs" ]; then
		# shellcheck disable=SC2086
		if ! chroot "$root" /usr/bin/env DEBIAN_FRONTEND=noninteractive sh -c \
			"apt-get update -qq && apt-get install -y -qq --no-install-recommends $pkgs" \
			>"$work/apt.log" 2>&1 </dev/null; then
			unmount_chroot
			tail -n 30 "$work/apt.log" >&2
			die "$image: apt-get install $pkgs failed"
		fi
	fi
	"$setup" "$root"
	chroot "$root" apt-get clean
	unmount_chroot
	rm -rf "$root/var/lib/apt/lists/"* "$root/var/cache/apt/"*.bin "$root/usr/sbin/policy-rc.d"
	: >"$root/etc/resolv.conf"
	local args=(--change "LABEL messenger.hash=$k")
	for c in "$@"; do args+=(--change "$c"); done
	tar -C "$root" --numeric-owner -c . | podman import "${args[@]}" - "$image" >/dev/null
	rm -rf "$work"
	log "$image: built in $((SECONDS - t))s"
}

POSTGRES_IMAGE=localhost/messenger-postgres:15
REDIS_IMAGE=localhost/messenger-redis:7
KAFKA_IMAGE=localhost/messenger-kafka:$KAFKA_VERSION
NGINX_IMAGE=localhost/messenger-nginx:latest
GO_IMAGE=localhost/messenger-go:latest
RUNTIME_IMAGE=localhost/messenger-runtime:latest
SERVER_IMAGE=localhost/messenger-server:latest

setup_postgres() {
	local root="$1"
	# The package made a cluster in /var/lib/postgresql/15/main; the
	# entrypoint makes its own in $PGDATA on first start.
	rm -rf "$root/var/lib/postgresql/15" "$root/etc/postgresql/15"
	cat >"$root/usr/local/bin/docker-entrypoint.sh" <<'EOF'
#!/bin/sh
# Like the official postgres image: a cluster in $PGDATA made on first start
# from POSTGRES_USER, POSTGRES_PASSWORD and POSTGRES_DB, then postgres.
set -eu
: "${PGDATA:=/var/lib/postgresql/data}"
if [ "$(id -u)" = 0 ]; then
	mkdir -p "$PGDATA" /var/run/postgresql
	chown -R postgres:postgres "$PGDATA" /var/run/postgresql
	chmod 700 "$PGDATA"
	exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi
case "${1:-}" in -*) set -- postgres "$@" ;; esac
user="${POSTGRES_USER:-postgres}"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
	pw="$(mktemp)"
	printf '%s\n' "${POSTGRES_PASSWORD:-}" >"$pw"
	auth=scram-sha-256
	[ -n "${POSTGRES_PASSWORD:-}" ] || auth=trust
	initdb -D "$PGDATA" -U "$user" --pwfile="$pw" -E UTF8 --locale=C.UTF-8 \
		--auth-local=trust --auth-host="$auth"
	rm -f "$pw"
	echo "listen_addresses = '*'" >>"$PGDATA/postgresql.conf"
	echo "host all all all $auth" >>"$PGDATA/pg_hba.conf"
	pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start
	db="${POSTGRES_DB:-$user}"
	if [ "$db" != postgres ]; then
		psql -v ON_ERROR_STOP=1 -U "$user" -d postgres -c "CREATE DATABASE \"$db\""
	fi
	pg_ctl -D "$PGDATA" -m fast -w stop
fi
exec "$@"
EOF
	chmod 755 "$root/usr/local/bin/docker-entrypoint.sh"
}

setup_redis() { :; }

setup_kafka() {
	local root="$1"
	mkdir -p "$root/opt/kafka/libs" "$root/opt/kafka/bin" "$root/opt/kafka/config" "$root/var/lib/kafka/data"
	cp "$CACHE_DIR/kafka-$KAFKA_VERSION/libs/"*.jar "$root/opt/kafka/libs/"
	cat >"$root/opt/kafka/config/log4j2.properties" <<'EOF'
status = warn
appender.out.type = Console
appender.out.name = STDOUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = warn
rootLogger.appenderRef.out.ref = STDOUT
logger.raftserver.name = kafka.server.KafkaRaftServer
logger.raftserver.level = info
EOF
	cat >"$root/opt/kafka/bin/kafka-java" <<'EOF'
#!/bin/sh
exec java ${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m -XX:+UseG1GC} -Djava.awt.headless=true \
	-Dlog4j2.configurationFile=/opt/kafka/config/log4j2.properties -cp '/opt/kafka/libs/*' "$@"
EOF
	cat >"$root/opt/kafka/bin/run" <<'EOF'
#!/bin/sh
# A KRaft node configured from KAFKA_* variables the way apache/kafka's image
# reads them: KAFKA_ dropped, lower case, _ -> ., __ -> _, ___ -> -.
set -eu
conf=/opt/kafka/config/server.properties
: >"$conf"
env | grep '^KAFKA_' | while IFS='=' read -r name value; do
	case "$name" in KAFKA_HEAP_OPTS | KAFKA_OPTS) continue ;; esac
	k="$(printf '%s' "${name#KAFKA_}" | tr 'A-Z' 'a-z' | sed -e 's/___/-/g' -e 's/__/@/g' -e 's/_/./g' -e 's/@/_/g')"
	printf '%s=%s\n' "$k" "$value" >>"$conf"
done
grep -q '^log\.dirs=' "$conf" || echo "log.dirs=/var/lib/kafka/data" >>"$conf"
/opt/kafka/bin/kafka-java kafka.tools.StorageTool format --ignore-formatted \
	-t "${CLUSTER_ID:-5L6g3nShT-eMCtK--X86sw}" -c "$conf"
exec /opt/kafka/bin/kafka-java kafka.Kafka "$conf"
EOF
	# The command-line tools: a small heap and the quick JIT, so that a
	# healthcheck starts its JVM in seconds on a busy machine.
	local tool
	for tool in kafka-topics.sh:org.apache.kafka.tools.TopicCommand \
		kafka-broker-api-versions.sh:org.apache.kafka.tools.BrokerApiVersionsCommand; do
		printf '#!/bin/sh\nKAFKA_HEAP_OPTS="-Xmx128m -XX:+UseSerialGC -XX:TieredStopAtLevel=1" exec /opt/kafka/bin/kafka-java %s "$@"\n' \
			"${tool#*:}" >"$root/opt/kafka/bin/${tool%%:*}"
	done
	chmod 755 "$root/opt/kafka/bin/"*
}

setup_nginx() {
	rm -f "$1/etc/nginx/sites-enabled/default"
	ln -sf /dev/stdout "$1/var/log/nginx/access.log"
	ln -sf /dev/stderr "$1/var/log/nginx/error.log"
}

setup_go() {
	local root="$1" goroot
	goroot="$(go env GOROOT)"
	mkdir -p "$root/usr/local"
	cp -a "$goroot" "$root/usr/local/go"
}

setup_runtime() {
	chroot "$1" useradd --system --uid 65532 --user-group --home-dir /home/nonroot --create-home nonroot
}

build_server() {
	local k
	# What the build copies and compiles: the Go files and what they embed.
	k="$(cd "$ROOT" && key <(image_hash "$GO_IMAGE") <(image_hash "$RUNTIME_IMAGE") \
		<(git ls-files -co --exclude-standard -- Dockerfile go.mod go.sum '*.go' '*.sql' \
			'adapters/web/*' 'docs/*.yaml' | grep -v '_test\.go$' | xargs -d '\n' sha256sum))"
	fresh "$SERVER_IMAGE" "$k" && return 0
	local t=$SECONDS
	log "$SERVER_IMAGE: podman build from the Dockerfile (base images: $GO_IMAGE, $RUNTIME_IMAGE)"
	local modcache gocache
	modcache="$(go env GOMODCACHE)"
	gocache="$(go env GOCACHE)"
	mkdir -p "$modcache" "$gocache"
	# The module and build caches of the host are lent to the build, so that
	# it needs no network and no cold cgo build of librdkafka.
	if ! podman build -q -f "$ROOT/Dockerfile" \
		--build-arg GO_IMAGE="$GO_IMAGE" --build-arg RUNTIME_IMAGE="$RUNTIME_IMAGE" \
		--build-arg GOPROXY=off \
		--volume "$modcache:/go/pkg/mod" --volume "$gocache:/root/.cache/go-build" \
		--label "messenger.hash=$k" -t "$SERVER_IMAGE" "$ROOT" >"$DIR/server-build.log" 2>&1; then
		tail -n 40 "$DIR/server-build.log" >&2
		die "$SERVER_IMAGE: podman build failed (log: $DIR/server-build.log)"
	fi
	log "$SERVER_IMAGE: built in $((SECONDS - t))s"
}

# The jars come from scripts/services.sh, which fetches them into the cache
# when it first starts a broker: one started and stopped in a scratch dir.
fetch_kafka() {
	local tmp
	tmp="$(mktemp -d "$DIR/kafka-fetch.XXXXXX")"
	log "kafka: fetching the jars through scripts/services.sh"
	export MESSENGER_CACHE_DIR="$CACHE_DIR" MESSENGER_KAFKA_VERSION="$KAFKA_VERSION"
	MESSENGER_SERVICES_DIR="$tmp/s" bash "$SCRIPT_DIR/services.sh" up kafka >/dev/null ||
		die "no Kafka jars in $CACHE_DIR/kafka-$KAFKA_VERSION"
	MESSENGER_SERVICES_DIR="$tmp/s" bash "$SCRIPT_DIR/services.sh" down >/dev/null
	rm -rf "$tmp"
}

images() {
	mkdir -p "$DIR"
	local t=$SECONDS ver
	build_base
	ver="$(key <(declare -f derive) <(image_hash "$BASE_IMAGE"))"
	derive "$POSTGRES_IMAGE" "$(key <(echo "$ver") <(declare -f setup_postgres))" \
		"postgresql-15 postgresql-client-15" setup_postgres \
		'ENV PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
		'ENV PGDATA=/var/lib/postgresql/data' 'ENV LANG=C.UTF-8' \
		'ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]' 'CMD ["postgres"]' \
		'EXPOSE 5432' 'STOPSIGNAL SIGINT'
	derive "$REDIS_IMAGE" "$(key <(echo "$ver") <(declare -f setup_redis))" \
		"redis-server" setup_redis 'CMD ["redis-server"]' 'EXPOSE 6379'
	[ -f "$CACHE_DIR/kafka-$KAFKA_VERSION/.complete" ] || fetch_kafka
	derive "$KAFKA_IMAGE" "$(key <(echo "$ver") <(declare -f setup_kafka) <(ls -l "$CACHE_DIR/kafka-$KAFKA_VERSION/libs"))" \
		"openjdk-17-jre-headless" setup_kafka 'CMD ["/opt/kafka/bin/run"]' 'EXPOSE 9092'
	derive "$NGINX_IMAGE" "$(key <(echo "$ver") <(declare -f setup_nginx))" \
		"nginx" setup_nginx 'CMD ["nginx", "-g", "daemon off;"]' 'EXPOSE 3000' 'STOPSIGNAL SIGQUIT'
	derive "$GO_IMAGE" "$(key <(echo "$ver") <(declare -f setup_go) <(go env GOROOT GOVERSION))" \
		"gcc libc6-dev ca-certificates git" setup_go \
		'ENV PATH=/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
		'ENV GOPATH=/go' 'ENV GOTOOLCHAIN=local'
	derive "$RUNTIME_IMAGE" "$(key <(echo "$ver") <(declare -f setup_runtime))" \
		"ca-certificates" setup_runtime
	build_server
	log "images ready in $((SECONDS - t))s"
}

# ---------------------------------------------------------------------------
# The Docker API socket

socket_alive() {
	curl -sf --max-time 5 --unix-socket "$SOCK" http://d/_ping >/dev/null 2>&1
}

socket_up() {
	mkdir -p "$DIR"
	if socket_alive; then
		return 0
	fi
	rm -f "$SOCK"
	# shellcheck disable=SC2016
	setsid bash -c 'echo $$ >"$1"; shift; exec "$@"' _ "$DIR/podman.pid" \
		podman system service --time=0 "unix://$SOCK" >>"$DIR/podman-service.log" 2>&1 </dev/null &
	disown $! 2>/dev/null || true
	local i
	for i in $(seq 1 100); do
		socket_alive && break
		sleep 0.2
	done
	socket_alive || die "podman system service did not answer on $SOCK (log: $DIR/podman-service.log)"
	[ -s "$DIR/session" ] || head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$DIR/session"
	log "Docker API on unix://$SOCK"
}

# Podman runs healthchecks from systemd timers; where systemd does not run
# (this machine), nothing runs them and a container stays "starting", which
# holds up compose's `depends_on: condition: service_healthy`. This loop runs
# the checks of the containers not yet healthy (or unhealthy) every 2 s.
health_up() {
	[ -s "$DIR/health.pid" ] && kill -0 "$(cat "$DIR/health.pid")" 2>/dev/null && return 0
	# shellcheck disable=SC2016
	setsid bash -c 'echo $$ >"$1"
		while sleep 2; do
			for id in $(podman ps -q --filter health=starting --filter health=unhealthy); do
				podman healthcheck run "$id" >/dev/null 2>&1 &
			done
			wait
		done' _ "$DIR/health.pid" >/dev/null 2>&1 </dev/null &
	disown $! 2>/dev/null || true
}

health_down() {
	if [ -s "$DIR/health.pid" ]; then
		kill -- "-$(cat "$DIR/health.pid")" 2>/dev/null || true
		rm -f "$DIR/health.pid"
	fi
}

socket_down() {
	if [ -s "$DIR/podman.pid" ]; then
		local pid
		pid="$(cat "$DIR/podman.pid")"
		if kill -0 "$pid" 2>/dev/null && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'system service'; then
			kill "$pid" 2>/dev/null || true
			for _ in $(seq 1 50); do
				kill -0 "$pid" 2>/dev/null || break
				sleep 0.1
			done
		fi
		rm -f "$DIR/podman.pid" "$SOCK"
	fi
}

# Containers testenv started under this state dir's session.
remove_session_containers() {
	[ -s "$DIR/session" ] || return 0
	local ids
	ids="$(podman ps -aq --filter "label=messenger.session=$(cat "$DIR/session")")"
	if [ -n "$ids" ]; then
		log "removing $(echo "$ids" | wc -l) test containers"
		# shellcheck disable=SC2086
		podman rm -f -t 2 $ids >/dev/null 2>&1 || true
	fi
}

print_env() {
	cat <<EOF
export DOCKER_HOST=unix://$SOCK
export TESTCONTAINERS_RYUK_DISABLED=true
export TESTCONTAINERS_HOST_OVERRIDE=127.0.0.1
export MESSENGER_CONTAINERS_DIR=$DIR
export MESSENGER_TEST_CONTAINER_SESSION=$(cat "$DIR/session")
export MESSENGER_TEST_POSTGRES_IMAGE=$POSTGRES_IMAGE
export MESSENGER_TEST_REDIS_IMAGE=$REDIS_IMAGE
export MESSENGER_TEST_KAFKA_IMAGE=$KAFKA_IMAGE
export MESSENGER_NGINX_IMAGE=$NGINX_IMAGE
export MESSENGER_SERVER_IMAGE=$SERVER_IMAGE
EOF
}

case "${1:-}" in
up)
	install_packages
	images
	socket_up
	health_up
	print_env
	;;
down)
	remove_session_containers
	health_down
	socket_down
	rm -f "$DIR/session"
	;;
images)
	install_packages
	images
	;;
install)
	install_packages
	;;
env)
	print_env
	;;
*)
	echo "usage: $0 up|down|images|install|env" >&2
	exit 2
	;;
esac
