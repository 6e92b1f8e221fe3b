"""`make bench-analyst`: one analysis pass over 10,000 series x 60 minutes, and the
Alertmanager webhook's latency.

- pass: POST /analyze/run (gunicorn, the settings and log level `make run` uses) over every
  series active in the hour, with the shipped rules (apps/analyst/rules.yaml). Floor: the
  pass's own read — the same windows fetched by apps.sensor.series in this process — so the
  ratio says what the rules, the episodes and the writes cost on top of reading the data.
- webhook: Alertmanager groups of ALERTS new alerts each, from CLIENTS threads; request
  latency. Floor: GET /healthz from the same clients (the HTTP stack and auth-free path).
- logs: POST /ingest/logs batches through Drain3 (lines/s); floor: the same lines through
  a bare Drain3 TemplateMiner in this process.
Median of RUNS runs; written to docs/BENCHMARKS.md.
"""

from __future__ import annotations

import os
import random
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta

import django

from aiops import bootstrap

bootstrap.prepare()
django.setup()

import requests  # noqa: E402
from django.contrib.auth.models import User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from aiops import tokens  # noqa: E402
from apps.analyst.models import AnalysisFinding  # noqa: E402
from apps.analyst.services import rules_seed_from_file  # noqa: E402
from apps.sensor import series as metric_series  # noqa: E402
from apps.sensor.points import Point  # noqa: E402
from apps.sensor.services import metrics_upsert  # noqa: E402
from bench.report import median, percentile, write_section  # noqa: E402
from tests import support  # noqa: E402

RUNS = int(os.environ.get("BENCH_RUNS", "5"))
SERIES = int(os.environ.get("BENCH_SERIES", "10000"))
MINUTES = int(os.environ.get("BENCH_MINUTES", "60"))
CLIENTS = int(os.environ.get("BENCH_CLIENTS", "4"))
WEBHOOKS = int(os.environ.get("BENCH_WEBHOOKS", "400"))
ALERTS = int(os.environ.get("BENCH_ALERTS", "5"))
LOG_REQUESTS = int(os.environ.get("BENCH_LOG_REQUESTS", "40"))
LOG_BATCH = int(os.environ.get("BENCH_LOG_BATCH", "1000"))
MAKE_RUN_ENV = {"AIOPS_LOG_LEVEL": "INFO"}  # what `make run` starts with
SHAPES = (
    "GET /cart/{n} 200 {ms} ms user={u}",
    "POST /checkout/{n} 502 upstream timeout after {ms} ms",
    "db pool exhausted: {n} waiting, max {u}",
    "payment provider 10.0.{n}.{u} answered 429, retry in {ms} ms",
    "cache miss for key sess:{u}:{n}",
)


def seed(end: datetime) -> None:
    """SERIES series x MINUTES minutes; one in ten is a latency series the latency rules
    watch too, one in a hundred jumps in its last three minutes."""
    call_command("migrate", interactive=False, verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE metric_1m, metric_series")
    rng = random.Random(1)
    batch: list[Point] = []
    for i in range(SERIES):
        metric = "http_p95_ms" if i % 10 == 0 else "bench_gauge"
        labels = {"pod": f"pod-{i}"}
        level = rng.uniform(50, 500)
        for m in range(MINUTES):
            value = level * (1 + rng.uniform(-0.05, 0.05))
            if i % 100 == 0 and m >= MINUTES - 3:
                value *= 4
            batch.append(
                Point(
                    end - timedelta(minutes=MINUTES - 1 - m), f"svc-{i % 50}", metric, labels, value
                )
            )
        if len(batch) >= 50_000:
            metrics_upsert(points=batch)
            batch = []
    metrics_upsert(points=batch)


def floor_read(end: datetime, span: int) -> float:
    start = end - timedelta(minutes=span - 1)
    t0 = time.perf_counter()
    keys = metric_series.active_series(start=start, end=end)
    metric_series.windows(sorted(keys), start=start, minutes=span)
    return time.perf_counter() - t0


def pass_run(base: str, token: str, end: datetime) -> dict:
    AnalysisFinding.objects.filter(source="rule").delete()  # each run opens the same findings
    t0 = time.perf_counter()
    response = requests.post(
        f"{base}/analyze/run",
        json={"at": end.isoformat()},
        headers={"Authorization": f"Token {token}"},
        timeout=600,
    )
    wall = time.perf_counter() - t0
    response.raise_for_status()
    body = response.json()
    return {
        "wall": wall,
        "server": body["seconds"],
        "series": body["series"],
        "opened": len(body["opened"]),
        "evaluations": body["evaluations"],
    }


def parallel(work, count: int) -> tuple[float, list[float]]:
    results, lock, todo = [], threading.Lock(), iter(range(count))

    def client():
        session = requests.Session()
        while True:
            with lock:
                item = next(todo, None)
            if item is None:
                return
            latency = work(session, item)
            with lock:
                results.append(latency)

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started, results


def webhook(run: int, index: int) -> dict:
    starts = datetime.now(UTC) - timedelta(minutes=1)
    alerts = [
        {
            "status": "firing",
            "labels": {
                "alertname": f"BenchAlert{run}",
                "service": f"bench-{index % 20}",
                "pod": f"p{a}",
            },
            "annotations": {"summary": "bench"},
            "startsAt": starts.isoformat(),
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus:9090/graph",
            "fingerprint": uuid.uuid4().hex[:16],
        }
        for a in range(ALERTS)
    ]
    return {"version": "4", "status": "firing", "receiver": "aiops", "alerts": alerts}


def webhook_run(base: str, token: str, run: int) -> dict:
    headers = {"Authorization": f"Token {token}"}

    def work(session, index):
        body = webhook(run, index)
        t0 = time.perf_counter()
        response = session.post(
            f"{base}/ingest/alertmanager", json=body, headers=headers, timeout=60
        )
        latency = time.perf_counter() - t0
        response.raise_for_status()
        return latency

    def floor(session, index):
        t0 = time.perf_counter()
        session.get(f"{base}/healthz", timeout=60).raise_for_status()
        return time.perf_counter() - t0

    _, latencies = parallel(work, WEBHOOKS)
    _, floors = parallel(floor, WEBHOOKS)
    return {
        "p50": percentile(latencies, 50),
        "p99": percentile(latencies, 99),
        "floor_p50": percentile(floors, 50),
        "floor_p99": percentile(floors, 99),
    }


def log_lines(rng: random.Random, count: int) -> list[str]:
    return [
        rng.choice(SHAPES).format(
            n=rng.randint(1, 999), ms=rng.randint(1, 3000), u=rng.randint(1, 99)
        )
        for _ in range(count)
    ]


def logs_run(base: str, token: str, run: int) -> dict:
    headers = {"Authorization": f"Token {token}"}
    now = datetime.now(UTC).isoformat()

    def work(session, index):
        lines = log_lines(random.Random(run * 1000 + index), LOG_BATCH)
        body = {
            "service": f"bench-logs-{index % CLIENTS}",
            "lines": [{"ts": now, "line": line} for line in lines],
        }
        t0 = time.perf_counter()
        session.post(
            f"{base}/ingest/logs", json=body, headers=headers, timeout=120
        ).raise_for_status()
        return time.perf_counter() - t0

    wall, latencies = parallel(work, LOG_REQUESTS)
    return {
        "lines_s": LOG_REQUESTS * LOG_BATCH / wall,
        "p50": percentile(latencies, 50),
        "p99": percentile(latencies, 99),
    }


def drain_floor(run: int) -> float:
    """The same lines through one bare TemplateMiner (our masking config), no database."""
    from drain3 import TemplateMiner

    from apps.sensor.mining import miner_config

    miner = TemplateMiner(config=miner_config())
    lines = [
        line
        for i in range(LOG_REQUESTS)
        for line in log_lines(random.Random(run * 1000 + i), LOG_BATCH)
    ]
    t0 = time.perf_counter()
    for line in lines:
        miner.add_log_message(line)
    return len(lines) / (time.perf_counter() - t0)


def main() -> None:
    call_command("migrate", interactive=False, verbosity=0)
    load = os.getloadavg()[0]
    rules_seed_from_file()
    user, _ = User.objects.get_or_create(username="bench", defaults={"is_superuser": True})
    token = tokens.issue(user)
    end = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=1)
    t0 = time.perf_counter()
    seed(end)
    seeded = time.perf_counter() - t0
    support.purge_broker()
    port = support.free_port()
    base = f"http://127.0.0.1:{port}"
    web = support.gunicorn(port, **MAKE_RUN_ENV).start()
    worker = support.celery_worker(**MAKE_RUN_ENV).start()
    try:
        support.wait_for(lambda: _healthy(base), timeout=60, what="gunicorn")
        pass_run(base, token, end)  # warm-up
        passes, floors = [], []
        for _ in range(RUNS):
            passes.append(pass_run(base, token, end))
            floors.append(floor_read(end, 122))
        hooks = [webhook_run(base, token, run) for run in range(RUNS)]
        logs = [logs_run(base, token, run) for run in range(RUNS)]
        drains = [drain_floor(run) for run in range(RUNS)]
    finally:
        worker.stop()
        web.stop()
        support.purge_broker()
    wall = median([p["wall"] for p in passes])
    server = median([p["server"] for p in passes])
    floor = median(floors)
    lines = [
        "## Analyst: one pass, and the Alertmanager webhook (`make bench-analyst`)",
        "",
        f"Pass: {SERIES:,} series x {MINUTES} minutes in metric_1m ({SERIES * MINUTES:,} rows, "
        f"seeded in {seeded:.0f} s), the shipped rules (every series under the general "
        "deviation rule, one in ten also under the latency rules, one in a hundred jumping in "
        "its last three minutes). `POST /analyze/run {at}` against gunicorn with `make run`'s "
        f"settings; median of {RUNS} runs (each from no open finding). Floor: the same windows "
        "read by `apps.sensor.series` in the bench process.",
        "",
        "| measure | p50 | ratio to floor |",
        "|---|---:|---:|",
        f"| pass, request to answer | {wall * 1000:.0f} ms | {wall / floor:.1f}x |",
        f"| pass, inside the server | {server * 1000:.0f} ms | {server / floor:.1f}x |",
        f"| floor: read the windows | {floor * 1000:.0f} ms | 1.0x |",
        "",
        f"Per pass: {passes[0]['series']:,} series, {passes[0]['evaluations']:,} rule "
        f"evaluations, {passes[0]['opened']} findings opened. Target: < 2 s."
        + (
            " With an hour of history no shipped deviation rule has its `min_points` (60) of "
            "baseline, so the jumps open nothing: the pass pays for reading and judging every "
            "series, not for writing findings."
            if passes[0]["opened"] == 0
            else ""
        ),
        "",
        f"Webhook: {WEBHOOKS} Alertmanager groups of {ALERTS} new alerts each from {CLIENTS} "
        f"clients (validation, advisory locks per fingerprint, findings and their events in one "
        f"transaction). Median of {RUNS} runs.",
        "",
        "| measure | p50 | p99 |",
        "|---|---:|---:|",
        f"| `POST /ingest/alertmanager` | {median([h['p50'] for h in hooks]) * 1000:.1f} ms "
        f"| {median([h['p99'] for h in hooks]) * 1000:.1f} ms |",
        f"| floor: `GET /healthz` | {median([h['floor_p50'] for h in hooks]) * 1000:.1f} ms "
        f"| {median([h['floor_p99'] for h in hooks]) * 1000:.1f} ms |",
        "",
        f"Logs: {LOG_REQUESTS} `POST /ingest/logs` requests of {LOG_BATCH} lines each from "
        f"{CLIENTS} clients, one service per client (Drain3 mining under the service's row "
        "lock, its state saved and the counts upserted in one transaction). Floor: the same "
        "lines through one bare Drain3 `TemplateMiner` in the bench process. "
        f"Median of {RUNS} runs.",
        "",
        "| measure | lines/s | request p50 | request p99 | ratio to floor |",
        "|---|---:|---:|---:|---:|",
        f"| `POST /ingest/logs` | {median([r['lines_s'] for r in logs]):,.0f} "
        f"| {median([r['p50'] for r in logs]) * 1000:.0f} ms "
        f"| {median([r['p99'] for r in logs]) * 1000:.0f} ms "
        f"| {median([r['lines_s'] for r in logs]) / median(drains):.2f}x |",
        f"| floor: bare Drain3 | {median(drains):,.0f} | | | 1.0x |",
        "",
        f"1-minute load average when the bench started: {load:.1f}.",
    ]
    write_section("analyst", "\n".join(lines))
    print("\n".join(lines))


def _healthy(base: str) -> bool:
    try:
        return requests.get(base + "/healthz", timeout=1).ok
    except requests.ConnectionError:
        return False


if __name__ == "__main__":
    main()
