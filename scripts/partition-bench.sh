#!/usr/bin/env bash
# Measures what partitioning the chats table costs and buys at a given size
# (docs/scaling.md, "Partitioning chats"): insert throughput with the
# sequence counter, and history pages, on three layouts of the same rows:
#
#   plain   the table as migrations/ create it
#   hash    PARTITION BY HASH (conversation_id), 16 partitions
#   time    PARTITION BY RANGE (created_at), one partition a month
#
#   scripts/partition-bench.sh DSN [ROWS] [CONVERSATIONS]   defaults 10000000 and 100000
#
# DSN names a scratch database server (e.g. scripts/services.sh's); the script
# creates and drops a database of its own there. Prints a Markdown table.
set -euo pipefail
DSN="${1:?usage: $0 DSN [ROWS] [CONVERSATIONS]}"
ROWS="${2:-10000000}"
CONVS="${3:-100000}"
SECS="${PARTITION_BENCH_SECONDS:-20}"
CLIENTS="${PARTITION_BENCH_CLIENTS:-4}"
DB="messenger_partition_bench"
base="${DSN%%\?*}"
base="${base%/*}"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"; psql -X -q "$DSN" -c "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1 || true' EXIT

log() { printf '[partition-bench] %s\n' "$*" >&2; }
psql -X -q "$DSN" -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB" >/dev/null
URL="$base/$DB?sslmode=disable"
q() { PGOPTIONS="-c maintenance_work_mem=512MB -c client_min_messages=warning" psql -X -q -v ON_ERROR_STOP=1 "$URL" "$@"; }

# The columns and indexes of migrations/00001_schema.sql (foreign keys left
# out: the same for every layout). A partitioned table's unique constraints
# must hold its partition key: hash adds conversation_id to the two keys that
# lack it; time adds created_at to all three, so none of them is enforced
# across months any more.
columns='
    id                 bigint       GENERATED ALWAYS AS IDENTITY,
    sender_id          uuid         NOT NULL,
    receiver_id        uuid         NOT NULL,
    message            text         NOT NULL,
    sequence_id        bigint       NOT NULL,
    conversation_id    text         NOT NULL,
    message_id         uuid         NOT NULL,
    client_message_id  varchar(128) NOT NULL,
    message_type       varchar(16)  NOT NULL DEFAULT '"'text'"',
    metadata           jsonb,
    "timestamp"        timestamptz  NOT NULL,
    delivered_at       timestamptz,
    read_at            timestamptz,
    seen               boolean      NOT NULL DEFAULT false,
    kafka_partition    varchar(16),
    kafka_offset       bigint,
    created_at         timestamptz  NOT NULL DEFAULT now()'

create() { # layout: the bare table; keys and indexes come after the rows
	local t="chats_$1"
	case "$1" in
	plain) q -c "CREATE TABLE $t ($columns)" ;;
	hash)
		q -c "CREATE TABLE $t ($columns) PARTITION BY HASH (conversation_id)"
		for i in $(seq 0 15); do
			q -c "CREATE TABLE ${t}_$i PARTITION OF $t FOR VALUES WITH (MODULUS 16, REMAINDER $i)"
		done
		;;
	time)
		q -c "CREATE TABLE $t ($columns) PARTITION BY RANGE (created_at)"
		for m in $(seq 0 12); do
			q -c "CREATE TABLE ${t}_$m PARTITION OF $t FOR VALUES FROM ('2025-01-01'::timestamptz + interval '$m month') TO ('2025-01-01'::timestamptz + interval '$((m + 1)) month')"
		done
		;;
	esac
}

index() { # layout
	local t="chats_$1" key
	case "$1" in
	plain) key="" ;;
	hash) key=", conversation_id" ;;
	time) key=", created_at" ;;
	esac
	q -c "ALTER TABLE $t ADD PRIMARY KEY (id${key})" \
		-c "ALTER TABLE $t ADD UNIQUE (conversation_id, sequence_id${key#, conversation_id})" \
		-c "ALTER TABLE $t ADD UNIQUE (sender_id, client_message_id${key})" \
		-c "ALTER TABLE $t ADD UNIQUE (message_id${key})" \
		-c "CREATE INDEX ON $t (receiver_id, read_at)" \
		-c "CREATE INDEX ON $t (sender_id, receiver_id, \"timestamp\")" \
		-c "CREATE INDEX ON $t (kafka_offset)"
}

# ROWS messages over CONVS conversations, ROWS/CONVS each, spread over twelve
# months in arrival order (a conversation's sequence grows with time).
fill() { # layout
	local t="chats_$1" per=$((ROWS / CONVS))
	q -c "INSERT INTO $t (sender_id, receiver_id, message, sequence_id, conversation_id, message_id, client_message_id, \"timestamp\", kafka_partition, kafka_offset, created_at)
		SELECT md5(c::text)::uuid, md5((c + 1)::text)::uuid, 'a message of ordinary length, about sixty characters long.',
		       s, 'conv-' || c, md5(c || '-' || s)::uuid, 'cid-' || s, ts, (c % 10)::text, c * $per + s, ts
		FROM generate_series(1, $per) s, generate_series(1, $CONVS) c,
		     LATERAL (SELECT '2025-01-01'::timestamptz + (s - 1) * (interval '364 days' / $per) + (c % 1000) * interval '1 second' AS ts) x"
}

cat >"$TMP/counters.sql" <<SQL
CREATE TABLE IF NOT EXISTS conv (id text PRIMARY KEY, last_sequence bigint NOT NULL);
TRUNCATE conv;
INSERT INTO conv SELECT 'conv-' || c, $((ROWS / CONVS)) FROM generate_series(1, $CONVS) c;
SQL

run() { # layout kind [protocol] -> transactions per second; prepared
	# statements by default, as the server's driver caches them; simple plans
	# each statement again, which partitioning makes dearer
	local t="chats_$1" f="$TMP/$1-$2.sql" mode="${3:-prepared}"
	case "$2" in
	insert)
		# The consumer's transaction for one message: take the conversation's
		# counter, insert the row at the next sequence.
		cat >"$f" <<SQL
\set c random(1, $CONVS)
BEGIN;
UPDATE conv SET last_sequence = last_sequence + 1 WHERE id = 'conv-' || :c;
INSERT INTO $t (sender_id, receiver_id, message, sequence_id, conversation_id, message_id, client_message_id, "timestamp", kafka_partition, kafka_offset, created_at)
SELECT md5(:c::text)::uuid, md5((:c + 1)::text)::uuid, 'a new message', last_sequence, id, gen_random_uuid(), gen_random_uuid()::text, '2025-12-30', '0', 0, '2025-12-30'
FROM conv WHERE id = 'conv-' || :c;
COMMIT;
SQL
		;;
	history)
		# A page after a cursor in the middle of a random conversation.
		cat >"$f" <<SQL
\set c random(1, $CONVS)
\set s random(1, $((ROWS / CONVS / 2)))
SELECT id, message, sequence_id FROM $t WHERE conversation_id = 'conv-' || :c AND sequence_id > :s ORDER BY sequence_id LIMIT 50;
SQL
		;;
	newest)
		cat >"$f" <<SQL
\set c random(1, $CONVS)
SELECT id, message, sequence_id FROM $t WHERE conversation_id = 'conv-' || :c ORDER BY sequence_id DESC LIMIT 50;
SQL
		;;
	esac
	pgbench -n -M "$mode" -f "$f" -c "$CLIENTS" -j 2 -T "$SECS" "$URL" 2>/dev/null | awk '/^tps/ {printf "%.0f", $3}'
}

echo "| layout | build (s) | size | insert tx/s | history page/s | newest page/s | history page/s, planned each time | partitions a history page reads |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
for layout in plain hash time; do
	log "$layout: creating and filling $ROWS rows"
	start=$SECONDS
	create "$layout"
	fill "$layout"
	index "$layout"
	q -c "ANALYZE chats_$layout"
	build=$((SECONDS - start))
	size="$(q -At -c "SELECT pg_size_pretty(sum(pg_total_relation_size(c.oid))) FROM pg_class c WHERE c.relname LIKE 'chats_${layout}%' AND c.relkind IN ('r', 'p')")"
	q -f "$TMP/counters.sql" >/dev/null
	log "$layout: measuring ($SECS s each, $CLIENTS clients)"
	ins="$(run "$layout" insert)"
	hist="$(run "$layout" history)"
	newest="$(run "$layout" newest)"
	simple="$(run "$layout" history simple)"
	plan="$(q -At -c "EXPLAIN (COSTS OFF) SELECT id FROM chats_$layout WHERE conversation_id = 'conv-7' AND sequence_id > 10 ORDER BY sequence_id LIMIT 50" | grep -c 'Index Scan' || true)"
	echo "| $layout | $build | $size | $ins | $hist | $newest | $simple | $plan |"
	q -c "DROP TABLE chats_$layout" >/dev/null
done
