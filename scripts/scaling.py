#!/usr/bin/env python3
"""The capacity plan of docs/scaling.md, computed from measured figures.

Reads the CPU per message of each component and the memory per socket from
docs/benchmarks.md (the reference full run; docs/benchmarks-history.md when
the current page has no such run), applies the model below, and
prints the table of tiers in Markdown. docs/scaling.md holds its output
between the markers; a test checks that it is current:

    python3 scripts/scaling.py            the table
    python3 scripts/scaling.py --model    the inputs and assumptions too

The model, per tier (a message rate R and a number of users U at peak):

- Server nodes: CPU = R x (server CPU per message, multi-node) on nodes of
  NODE_CORES cores kept at UTILISATION; memory = sockets x memory per socket
  on nodes of NODE_MEMORY_GIB; the larger count, plus one node so that losing
  one keeps the rest under the target, at least two.
- Kafka: every message is written to REPLICATION brokers; broker CPU = R x
  Kafka CPU per message x REPLICATION on brokers of BROKER_CORES at
  UTILISATION, at least REPLICATION brokers. chat-messages partitions: the
  delivery consumer members (two per node) times PARTITION_HEADROOM, so nodes
  can be added without adding partitions, rounded up to a multiple of the
  brokers, at least the guide's 10.
- PostgreSQL: primary CPU = R x PostgreSQL CPU per message x DURABILITY (the
  measurements ran with fsync and synchronous_commit off) on primaries of
  DB_CORES at UTILISATION; more than one primary means shards by
  conversation. Each shard has one synchronous standby (failover) and, from
  READ_REPLICA_FROM msg/s, one read replica for history pages.
- Redis: pub/sub fan-out and presence, single-threaded per process: CPU = R x
  Redis CPU per message x FANOUT_FACTOR (a message reaches the receiver's node
  and the sender's, which with several nodes are often others) on one core per
  shard at UTILISATION. One shard: master, replica and three Sentinels; more:
  Redis Cluster with sharded pub/sub (SPUBLISH/SSUBSCRIBE), each shard a
  master and a replica.
"""
import math
import os
import re
import sys

NODE_CORES = 8
NODE_MEMORY_GIB = 16
BROKER_CORES = 8
DB_CORES = 16
UTILISATION = 0.6
REPLICATION = 3
PARTITION_HEADROOM = 2
DURABILITY = 1.5
READ_REPLICA_FROM = 10_000
FANOUT_FACTOR = 2
SOCKETS_PER_USER = 1.2
MEMORY_FOR_SOCKETS = 0.6  # of a node's memory

# The guide's tiers, then on to 100,000 msg/s.
TIERS = [
    ("guide: 10K users", 10_000, 1_000),
    ("guide: 50K users", 50_000, 5_000),
    ("guide: 100K users", 100_000, 10_000),
    ("300K users", 300_000, 30_000),
    ("1M users", 1_000_000, 100_000),
]


def measured(text):
    """The figures of docs/benchmarks.md the model needs."""
    # "| 3,000 msg/s | 227 us (0.68) | 128 us (0.39) | 97 us (0.29) | 13 us (0.04) | ..."
    rows = re.findall(
        r"^\| ([\d,]+) msg/s \| (\d+) us \([\d.]+\) \| (\d+) us \([\d.]+\) \| (\d+) us \([\d.]+\) \| (\d+) us",
        text, re.M)
    if not rows:
        raise SystemExit("docs/benchmarks.md: the table of CPU per message is missing")
    # The highest rate measured: the per-message cost of a busy node, which
    # is what a planned node is.
    rate, server, pg, kafka, redis = max(rows, key=lambda r: int(r[0].replace(",", "")))
    # Several nodes cost more per message than one (cross-node fan-out): the
    # load table's server us/msg, real nodes, 1,000 users, same rate.
    load = re.findall(r"^\| real, (\d) nodes? \| 1,000 \| ([\d,]+) \| .*\| (\d+) \| \d+ / \d+ / \d+ \|$", text, re.M)
    by = {(n, r.replace(",", "")): int(us) for n, r, us in load}
    r = rate.replace(",", "")
    if ("1", r) not in by or ("2", r) not in by:
        raise SystemExit(f"docs/benchmarks.md: no one- and two-node rows at {rate} msg/s")
    multi = by[("2", r)] / by[("1", r)]
    m = re.search(r"([\d.]+) KiB per socket", text)
    if not m:
        raise SystemExit("docs/benchmarks.md: no memory per socket")
    return {
        "rate": int(r),
        "server_us": int(server),
        "multi_node": multi,
        "postgres_us": int(pg),
        "kafka_us": int(kafka),
        "redis_us": int(redis),
        "socket_kib": float(m.group(1)),
    }


def plan(f, users, rate):
    sockets = users * SOCKETS_PER_USER
    cpu_nodes = rate * f["server_us"] * f["multi_node"] / 1e6 / (NODE_CORES * UTILISATION)
    mem_nodes = sockets * f["socket_kib"] / (1 << 20) / (NODE_MEMORY_GIB * MEMORY_FOR_SOCKETS)
    nodes = max(2, math.ceil(max(cpu_nodes, mem_nodes)) + 1)

    brokers = max(REPLICATION, math.ceil(rate * f["kafka_us"] * REPLICATION / 1e6 / (BROKER_CORES * UTILISATION)))
    partitions = max(10, 2 * nodes * PARTITION_HEADROOM)
    partitions = math.ceil(partitions / brokers) * brokers

    primaries = max(1, math.ceil(rate * f["postgres_us"] * DURABILITY / 1e6 / (DB_CORES * UTILISATION)))
    replicas = primaries * (1 + (1 if rate >= READ_REPLICA_FROM else 0))

    redis_shards = max(1, math.ceil(rate * f["redis_us"] * FANOUT_FACTOR / 1e6 / UTILISATION))
    if redis_shards == 1:
        redis = "master + replica, 3 Sentinels"
    else:
        redis = f"Cluster: {redis_shards} shards x (master + replica), sharded pub/sub"
    return {
        "nodes": nodes, "cpu_nodes": cpu_nodes, "mem_nodes": mem_nodes,
        "brokers": brokers, "partitions": partitions,
        "primaries": primaries, "replicas": replicas,
        "redis": redis, "sockets": sockets,
    }


def table(f):
    out = [
        "| tier | msg/s | sockets | server nodes (CPU / memory need) | Kafka brokers | chat-messages partitions | PostgreSQL | Redis |",
        "|---|---:|---:|---|---:|---:|---|---|",
    ]
    for name, users, rate in TIERS:
        p = plan(f, users, rate)
        pg = f"{p['primaries']} primary" if p["primaries"] == 1 else f"{p['primaries']} shards"
        pg += f", {p['replicas']} replica{'s' if p['replicas'] > 1 else ''}"
        out.append(
            f"| {name} | {rate:,} | {int(p['sockets']):,} | {p['nodes']} ({p['cpu_nodes']:.2f} / {p['mem_nodes']:.2f}) "
            f"| {p['brokers']} | {p['partitions']} | {pg} | {p['redis']} |")
    return "\n".join(out)


def model(f):
    return "\n".join([
        f"- measured at {f['rate']:,} msg/s on one node: server {f['server_us']} us, PostgreSQL {f['postgres_us']} us, "
        f"Kafka {f['kafka_us']} us, Redis {f['redis_us']} us of CPU per message; two nodes cost "
        f"{f['multi_node']:.2f} times one node's server CPU per message; {f['socket_kib']} KiB per socket",
        f"- server nodes of {NODE_CORES} cores and {NODE_MEMORY_GIB} GiB, {MEMORY_FOR_SOCKETS:.0%} of it for sockets, "
        f"{SOCKETS_PER_USER} sockets per user at peak, one node spare, at least two",
        f"- every machine at {UTILISATION:.0%} CPU at peak; Kafka brokers of {BROKER_CORES} cores, replication {REPLICATION}, "
        f"partitions {PARTITION_HEADROOM} times the consumer members",
        f"- PostgreSQL primaries of {DB_CORES} cores, {DURABILITY} times the measured CPU for fsync and a synchronous "
        f"standby; one standby per primary, one read replica more from {READ_REPLICA_FROM:,} msg/s",
        f"- Redis: one core per process, {FANOUT_FACTOR} publishes per message",
    ])


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    # The per-component figures of the last full run with them: the current
    # page, else the history page the older runs moved to.
    f = None
    for name in ("benchmarks.md", "benchmarks-history.md"):
        with open(os.path.join(root, "docs", name)) as fh:
            text = fh.read()
        if re.search(r"^\| [\d,]+ msg/s \| \d+ us \(", text, re.M):
            f = measured(text)
            break
    if f is None:
        raise SystemExit("docs/benchmarks.md: the table of CPU per message is missing")
    if "--model" in sys.argv[1:]:
        print(model(f))
        print()
    print(table(f))


if __name__ == "__main__":
    main()
