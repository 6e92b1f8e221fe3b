"""`make bench-ingest`: POST /ingest/metrics throughput and latency against `make run`'s
processes (bench.platform), with its floors measured in the same run.

- ingest: CLIENTS client processes each POST batches of BATCH new series-minutes (every
  batch a new `req` label, so each point inserts a row) as fast as answers come back;
  points/s over the run's wall time, request latency p50/p99.
- floor (database): the same points, the same staging table and merge statement, sent by
  CLIENTS bare psycopg connections: what PostgreSQL on this machine takes, with no HTTP,
  JSON or validation.
- floor (HTTP): GET /healthz from the same clients: gunicorn's and the client's own cost
  per request.
- client alone: the CPU seconds each client process spent per request, so a reader can
  see that the clients are not what limits the rate. They speak http.client
  (bench.client.request), which costs them a third of what requests did.
The metric tables are emptied first; the runs then add 1.4 million rows (warm-up included).
Each client encodes its bodies, then waits at a barrier for the others; the run's wall time is
from that start to the last answer, so encoding is never timed. Median of RUNS runs,
interleaved; written to docs/BENCHMARKS.md.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

from aiops import embedded
from apps.sensor.staging import copy_upsert, split
from bench.client import request
from bench.platform import ROOT, Platform
from bench.report import median, percentile, write_section

RUNS = int(os.environ.get("BENCH_RUNS", "3"))
CLIENTS = int(os.environ.get("BENCH_CLIENTS", "4"))
REQUESTS = int(os.environ.get("BENCH_INGEST_REQUESTS", "200"))  # per run, all clients
BATCH = int(os.environ.get("BENCH_INGEST_BATCH", "1000"))
BEFORE = {"points_s": 39_000, "p99": 147.0}  # the unnest() path, docs/BENCHMARKS.md
DATA_DIR = Path(os.environ.get("AIOPS_DATA_DIR", str(ROOT / "var" / "bench"))) / "ingest"
# BENCH_TITLE names a run of other code (say, the commit before a change) into its own section.
TITLE = os.environ.get("BENCH_TITLE", "")


def points(tag: str, index: int) -> list[dict]:
    """BATCH new series-minutes: 100 pods x BATCH/100 minutes, a day ago."""
    start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(days=1)
    return [
        {
            "service": "bench-ingest",
            "metric": "http_p95_ms",
            "labels": {"pod": f"pod-{i % 100}", "req": f"{tag}-{index}"},
            "ts": (start + timedelta(minutes=i // 100)).isoformat(),
            "value": float(i),
        }
        for i in range(BATCH)
    ]


# The clients' shared start line (fan_out's pool hands it to each process as it starts).
_start = None


def _share_start(barrier) -> None:
    global _start
    _start = barrier


def _go() -> float:
    """Wait for every client to be ready; the moment they all are, on the shared clock."""
    _start.wait()
    return time.perf_counter()  # CLOCK_MONOTONIC: one clock for every process


def http_client(args) -> tuple[list[float], float, float, float]:
    """One client process: its share of requests; (latencies, CPU seconds it used, start and
    end of its requests)."""
    base, token, path, tag, indexes = args
    headers = {"Authorization": f"Token {token}"}
    if path == "/healthz":
        send = [lambda: request(base, "GET", path, **headers) for _ in indexes]
    else:
        headers["Content-Type"] = "application/json"
        bodies = [json.dumps(points(tag, i)).encode() for i in indexes]
        send = [lambda b=b: request(base, "POST", path, b, **headers) for b in bodies]
    started = _go()
    cpu0 = time.process_time()
    latencies = []
    for one in send:
        t0 = time.perf_counter()
        status, body = one()
        latencies.append(time.perf_counter() - t0)
        if status != 200:
            raise RuntimeError(f"{path}: {status} {body[:300]!r}")
    return latencies, time.process_time() - cpu0, started, time.perf_counter()


def copy_client(args) -> tuple[list[float], float, float, float]:
    """One floor process: the same points straight into PostgreSQL, one transaction each."""
    conninfo, tag, indexes = args
    batches = []
    for i in indexes:
        batch = [
            (datetime.fromisoformat(p["ts"]), p["service"], p["metric"], p["labels"], p["value"])
            for p in points(tag, i)
        ]
        batches.append(split(batch))
    latencies = []
    with psycopg.connect(**conninfo) as conn:
        started = _go()
        cpu0 = time.process_time()
        for series, rows in batches:
            t0 = time.perf_counter()
            with conn.transaction(), conn.cursor() as cursor:
                copy_upsert(cursor, series, rows)
            latencies.append(time.perf_counter() - t0)
    return latencies, time.process_time() - cpu0, started, time.perf_counter()


def fan_out(target, make_args, tag: str) -> dict:
    shares = [list(range(c, REQUESTS, CLIENTS)) for c in range(CLIENTS)]
    context = multiprocessing.get_context("spawn")
    # One task per process: a process waits at the barrier with its task, so none takes two.
    with context.Pool(CLIENTS, _share_start, (context.Barrier(CLIENTS),)) as pool:
        results = pool.map(target, [make_args(tag, share) for share in shares], chunksize=1)
    wall = max(end for *_, end in results) - min(start for *_, start, _ in results)
    latencies = [x for lat, *_ in results for x in lat]
    cpu = sum(c for _, c, *_ in results)
    return {
        "points_s": len(latencies) * BATCH / wall,
        "requests_s": len(latencies) / wall,
        "p50": percentile(latencies, 50) * 1000,
        "p99": percentile(latencies, 99) * 1000,
        "client_cpu_ms": cpu / len(latencies) * 1000,
    }


def summarize(runs: list[dict]) -> dict:
    return {key: median([run[key] for run in runs]) for key in runs[0]}


def main() -> None:
    env = {
        "AIOPS_THROTTLE_INGEST": os.environ.get("AIOPS_THROTTLE_INGEST", "100000/s"),
        "AIOPS_THROTTLE_WRITES": os.environ.get("AIOPS_THROTTLE_WRITES", "100000/s"),
    }
    platform = Platform(DATA_DIR, **env).start()
    conninfo = embedded.postgres_settings(DATA_DIR)
    conninfo = {
        "dbname": conninfo["NAME"],
        "user": conninfo["USER"],
        "host": conninfo["HOST"],
    }
    stamp = str(time.time_ns())
    # Every bench starts from the same, empty metric tables: the cost of a batch grows with the
    # primary key's size (docs/perf/ingest.md), so a data dir kept from earlier runs would
    # measure a different table each time.
    with psycopg.connect(**conninfo, autocommit=True) as conn:
        conn.execute("TRUNCATE metric_1m, metric_series")
    try:
        token = platform.token

        def via_http(path):
            return lambda tag, share: (platform.base, token, path, tag, share)

        fan_out(http_client, via_http("/ingest/metrics"), f"warm-{stamp}")
        runs: dict[str, list[dict]] = {"ingest": [], "repeat": [], "copy": [], "healthz": []}
        for run in range(RUNS):  # interleaved, so drift in machine load hits all alike
            tag = f"{stamp}-{run}"
            runs["ingest"].append(fan_out(http_client, via_http("/ingest/metrics"), tag))
            # The same bodies again: every minute is stored, so each batch takes the upsert.
            runs["repeat"].append(fan_out(http_client, via_http("/ingest/metrics"), tag))
            runs["copy"].append(fan_out(copy_client, lambda t, s: (conninfo, t, s), "c" + tag))
            runs["healthz"].append(fan_out(http_client, via_http("/healthz"), tag))
            print(f"run {run}: " + ", ".join(f"{k} {v[-1]}" for k, v in runs.items()))
    finally:
        platform.stop()
    report(*(summarize(runs[kind]) for kind in ("ingest", "repeat", "copy", "healthz")))


def report(ingest: dict, repeat: dict, copy: dict, healthz: dict) -> None:
    lines = [
        f"## Metric ingestion (`make bench-ingest`){' — ' + TITLE if TITLE else ''}",
        "",
        f"POST /ingest/metrics against `make run`'s processes (`runplatform`: gunicorn with 4 "
        f"sync workers, the Celery pools, beat; its settings and log level), {CLIENTS} client "
        f"processes, {BATCH}-point batches of new series-minutes, {REQUESTS} requests per run, "
        f"median of {RUNS} runs. Each run then sends its bodies again: every minute is then "
        f"a stored one, which the upsert replaces (a new minute goes by COPY). The database "
        f"floor sends the same points through bare "
        f"psycopg connections (the same binary COPY and merge statements, series ids hashed "
        f"before the clock, no HTTP, JSON or validation); both start from empty metric tables "
        f"and together add {(RUNS * 2 + 1) * REQUESTS * BATCH:,} rows; the HTTP floor is GET "
        f"/healthz from the same clients. Clients, gunicorn and PostgreSQL share the "
        f"machine's cores.",
        "",
        "| path | points/s | requests/s | p50 ms | p99 ms | client CPU ms/request |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    rows = [
        ("POST /ingest/metrics", ingest),
        ("POST /ingest/metrics, every minute already stored", repeat),
        ("floor: COPY + merge via psycopg", copy),
        ("floor: GET /healthz", healthz),
    ]
    for label, r in rows:
        points_s = f"{r['points_s']:,.0f}" if r is not healthz else "—"
        lines.append(
            f"| {label} | {points_s} | {r['requests_s']:.0f} | {r['p50']:.1f} | "
            f"{r['p99']:.1f} | {r['client_cpu_ms']:.2f} |"
        )
    lines += [
        "",
        f"Ingest throughput is **{ingest['points_s'] / copy['points_s']:.2f}x** the database "
        f"floor; its request rate is {ingest['requests_s'] / healthz['requests_s']:.2f}x the "
        f"/healthz rate. Batches of stored minutes run at "
        f"{repeat['points_s'] / ingest['points_s']:.2f}x the rate of new ones. Before, as "
        f"issue 14 gave it (the `unnest()` arrays bound client-side, "
        f"every string walked for NUL, per-point dataclasses): {BEFORE['points_s']:,} "
        f"points/s, p99 "
        f"{BEFORE['p99']:.0f} ms. Profiles: docs/perf/ingest.md. Load average when the "
        f"bench ended: {os.getloadavg()[0]:.1f}.",
    ]
    write_section("ingest" + ("-" + TITLE.split()[0] if TITLE else ""), "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
