"""`make bench-transitions` (second half): PATCH /case/{id}/transition at a steady RATE
requests/s, open loop, against `make run`'s processes (bench.platform), at two table sizes.

Open loop: request i is due at start + i/RATE whatever happened to the ones before it, and
its latency runs from the due time to the answer, so a server that falls behind shows as
latency instead of a slower schedule (coordinated omission). The requests are built
beforehand and sent from one thread (bench.openloop), which keeps the generator's share of
the machine under test small. The HTTP floor is GET /healthz on the same schedule.

Tables: SMALL cases (10 timeline rows each), then LARGE cases, each size in its own data
dir (kept between runs, so a size is seeded once). Cases are
seeded set-based in PostgreSQL (INSERT … SELECT generate_series): each went create →
start_analysis → analysis_done → (park, resume) x 3 → park, so it is PARKED at version 10 with
10 timeline rows and the outbox row of its last event (published and delivered, as the
relay leaves it; delivered rows are what outbox retention deletes, so the table stays
small). The bench then resumes random PARKED cases and parks each again a second later
(`schedule`), the two interleaved; afterwards, untimed, it parks the cases of its last
second's resumes. After each size the hot queries are shown with EXPLAIN (ANALYZE,
BUFFERS), inside a rolled-back transaction.
Written to docs/BENCHMARKS.md (section transitions-http).
"""

from __future__ import annotations

import json
import os
import statistics
import time
from collections import deque
from pathlib import Path

import psycopg

from aiops import embedded
from bench import openloop
from bench.platform import ROOT, Platform
from bench.report import busy_share, cpu_times, write_section

RATE = float(os.environ.get("BENCH_RATE", "200"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "30"))
# Runs per size: the machine's speed swings within minutes, so one run says little; the
# report gives each and their median.
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
SMALL = int(os.environ.get("BENCH_CASES_SMALL", "10000"))
LARGE = int(os.environ.get("BENCH_CASES_LARGE", "1000000"))
CHUNK = 100_000  # cases per seeding statement (and commit)
WARM = 100  # cases the warm-up resumes (and parks)
DATA_ROOT = Path(os.environ.get("AIOPS_DATA_DIR", str(ROOT / "var" / "bench")))


def data_dir(size: int) -> Path:
    """A data dir per size: one kept from an earlier run never holds more than its size."""
    return DATA_ROOT / f"transitions-{size}"


# One statement per chunk: the cases, their 10 timeline rows, the outbox row of the last.
SEED = """
WITH cases AS (
    INSERT INTO ops_case (id, title, service, environment, severity, description, labels,
                          template, params, state, version, created_by_id, created_at,
                          updated_at, state_entered_at)
    SELECT gen_random_uuid(), 'seeded case ' || g, 'svc-' || (g %% 50), 'bench', 'sev3', '',
           '{"seeded": "bench"}', '', '{}', 'PARKED', 10, NULL,
           now() - interval '30 days' + g * interval '1 second', now(),
           now() - interval '30 days' + g * interval '1 second' + interval '9 minutes'
    FROM generate_series(%(first)s::int, %(last)s::int) AS g
    RETURNING id, service, environment, created_at
), history AS (
    INSERT INTO case_timeline (case_id, event, from_state, to_state, actor, reason,
                               request_id, data, created_at)
    SELECT c.id, s.event, s.from_state, s.to_state, 'bench-seed', s.reason, '', '{}',
           c.created_at + s.step * interval '1 minute'
    FROM cases c CROSS JOIN (VALUES
        (0, 'create', '', 'NEW', ''), (1, 'start_analysis', 'NEW', 'ANALYZING', ''),
        (2, 'analysis_done', 'ANALYZING', 'PLANNING', ''),
        (3, 'park', 'PLANNING', 'PARKED', 'seeded'), (4, 'resume', 'PARKED', 'PLANNING', ''),
        (5, 'park', 'PLANNING', 'PARKED', 'seeded'), (6, 'resume', 'PARKED', 'PLANNING', ''),
        (7, 'park', 'PLANNING', 'PARKED', 'seeded'), (8, 'resume', 'PARKED', 'PLANNING', ''),
        (9, 'park', 'PLANNING', 'PARKED', 'seeded')
    ) AS s(step, event, from_state, to_state, reason)
)
INSERT INTO outbox (event_id, type, source, subject, time, data, request_id, traceparent,
                    published_at, delivered_at, claimed_by, attempts, last_error)
SELECT gen_random_uuid(), 'evt.case.transition.v1', 'urn:aiops', c.id::text,
       c.created_at + interval '9 minutes',
       jsonb_build_object('case_id', c.id::text, 'event', 'park', 'from_state', 'PLANNING',
                          'to_state', 'PARKED', 'version', 10, 'actor', 'bench-seed',
                          'reason', 'seeded', 'service', c.service,
                          'environment', c.environment),
       '', '', c.created_at + interval '9 minutes', c.created_at + interval '9 minutes', '',
       1, ''
FROM cases c
"""

# The statements a transition runs (see apps.cases.services), with a seeded case's values.
HOT_QUERIES = {
    "auth: the token's row and its user (knox)": (
        "SELECT * FROM knox_authtoken t JOIN auth_user u ON u.id = t.user_id "
        "WHERE t.token_key = %(token_key)s"
    ),
    "lock the case (lock_case)": ("SELECT * FROM ops_case WHERE id = %(case)s FOR UPDATE"),
    "move the case (fire)": (
        "UPDATE ops_case SET state = 'PLANNING', version = version + 1, updated_at = now(), "
        "state_entered_at = now() WHERE id = %(case)s"
    ),
    "timeline row": (
        "INSERT INTO case_timeline (case_id, event, from_state, to_state, actor, reason, "
        "request_id, data, created_at) VALUES (%(case)s, 'resume', 'PARKED', 'PLANNING', "
        "'explain', '', '', '{}', now()) RETURNING id"
    ),
    "outbox row": (
        "INSERT INTO outbox (event_id, type, source, subject, time, data, request_id, "
        "traceparent, claimed_by, attempts, last_error) VALUES (gen_random_uuid(), "
        "'evt.case.transition.v1', 'urn:aiops', %(case)s, now(), '{}', '', '', '', 0, '') "
        "RETURNING seq"
    ),
    "the case's timeline, newest page (GET /case/{id}/timeline)": (
        "SELECT * FROM case_timeline WHERE case_id = %(case)s ORDER BY id LIMIT 50"
    ),
}


def connect(data_dir: Path) -> psycopg.Connection:
    settings = embedded.postgres_settings(data_dir)
    return psycopg.connect(dbname=settings["NAME"], user=settings["USER"], host=settings["HOST"])


def seed(conn: psycopg.Connection, upto: int) -> float:
    """Top the seeded cases up to `upto`; returns the seconds it took."""
    have = conn.execute("SELECT count(*) FROM ops_case WHERE labels ? 'seeded'").fetchone()[0]
    started = time.perf_counter()
    for first in range(have + 1, upto + 1, CHUNK):
        last = min(upto, first + CHUNK - 1)
        with conn.transaction():
            conn.execute(SEED, {"first": first, "last": last})
        print(f"seeded cases {first}..{last} ({time.perf_counter() - started:.0f} s)", flush=True)
    return time.perf_counter() - started


def steady(conn: psycopg.Connection) -> float:
    """Vacuum and checkpoint what seeding wrote, as autovacuum and the checkpointer would have
    long since done for a history written over months; returns the seconds it took.

    Measured straight after seeding a million cases, the run shared the cores with
    autovacuum's passes over the new rows (a VACUUM of case_timeline alone outlasted it),
    and every first read of a new row set its hint bits and dirtied its page: the platform
    fell seconds behind at 200/s. On tables already vacuumed this takes a few seconds."""
    started = time.perf_counter()
    conn.execute("VACUUM (ANALYZE) ops_case, case_timeline, outbox")
    conn.execute("CHECKPOINT")
    return time.perf_counter() - started


def targets(conn: psycopg.Connection, count: int) -> list[str]:
    """`count` random PARKED seeded cases, spread over the table."""
    rows = conn.execute(
        "SELECT id FROM ops_case WHERE state = 'PARKED' AND labels ? 'seeded' "
        "ORDER BY random() LIMIT %s",
        [count],
    ).fetchall()
    return [str(row[0]) for row in rows]


def open_loop(platform: Platform, requests: list[bytes]) -> dict:
    """Send `requests` at RATE (bench.openloop); the rate achieved, p50/p99/max in ms, the
    failures, and what the run cost the client and the machine."""
    cpu, cores = time.process_time(), cpu_times()
    outcome = openloop.run(("127.0.0.1", platform.port), requests, RATE)
    busy = busy_share(cores, cpu_times())
    total = len(requests)
    return {
        **outcome.summary(),
        "client_cpu_ms": (time.process_time() - cpu) / total * 1000,
        # How full the machine was: at a share near 1 the p99 is the run queue's.
        "busy": busy,
        # What a request cost the whole machine (platform, database, client): unlike the
        # latency, comparable between runs at different loads and on machines of one speed.
        "machine_cpu_ms": None
        if busy is None
        else busy * os.cpu_count() * outcome.wall / total * 1000,
    }


def schedule(cases: list[str], total: int, lag: int) -> list[tuple[str, str]]:
    """(case, event) for each request: resumes and parks alternate, each park on the case
    resumed `lag` requests earlier (a second at RATE, so that resume has been answered).

    A steady load mixes them; all resumes and then all parks would measure each alone, and
    a park costs about twice a resume (its event reaches three subscribers, a resume's none).
    """
    fresh, resumed, plan = iter(cases), deque(), []
    for i in range(total):
        if i % 2 and resumed and resumed[0][1] <= i - lag:
            plan.append((resumed.popleft()[0], "park"))
            continue
        case = next(fresh, None)
        if case is None:
            raise ValueError(f"{len(cases)} cases are too few for {total} requests")
        resumed.append((case, i))
        plan.append((case, "resume"))
    return plan


def transitions_run(
    platform: Platform, token: str, cases: list[str], total: int, lag: int | None = None
) -> dict:
    plan = schedule(cases, total, int(RATE) if lag is None else lag)
    bodies = {
        event: json.dumps({"event": event, "reason": "bench" if event == "park" else ""}).encode()
        for event in ("park", "resume")
    }

    def patch(case: str, event: str) -> bytes:
        return openloop.raw_request(
            "127.0.0.1",
            platform.port,
            "PATCH",
            f"/case/{case}/transition",
            bodies[event],
            Authorization=f"Token {token}",
            Content_Type="application/json",
        )

    result = open_loop(platform, [patch(case, event) for case, event in plan])
    # Untimed: the last second's resumes are parked again, so a data dir kept between runs
    # does not run out of PARKED cases (targets) after a few dozen of them.
    parks = [patch(case, "park") for case in left_resumed(plan)]
    openloop.run(("127.0.0.1", platform.port), parks, RATE)
    return result


def left_resumed(plan: list[tuple[str, str]]) -> list[str]:
    """The cases whose last request in `plan` resumes them."""
    last = dict(plan)
    return [case for case, event in last.items() if event == "resume"]


def healthz_run(platform: Platform, total: int) -> dict:
    request = openloop.raw_request("127.0.0.1", platform.port, "GET", "/healthz")
    return open_loop(platform, [request] * total)


def explain(conn: psycopg.Connection, case: str, token_key: str) -> str:
    out = []
    for label, sql in HOT_QUERIES.items():
        with conn.transaction(force_rollback=True):
            plan = conn.execute(
                "EXPLAIN (ANALYZE, BUFFERS) " + sql, {"case": case, "token_key": token_key}
            ).fetchall()
        out.append(f"-- {label}\n" + "\n".join(row[0] for row in plan))
    return "\n\n".join(out)


def sizes(conn) -> str:
    row = conn.execute(
        "SELECT (SELECT count(*) FROM ops_case), (SELECT count(*) FROM case_timeline), "
        "(SELECT count(*) FROM outbox), pg_size_pretty(pg_total_relation_size('case_timeline'))"
    ).fetchone()
    return f"{row[0]:,} cases, {row[1]:,} timeline rows ({row[3]}), {row[2]:,} outbox rows"


def main() -> dict:
    env = {
        "AIOPS_THROTTLE_WRITES": os.environ.get("AIOPS_THROTTLE_WRITES", "100000/s"),
        "AIOPS_THROTTLE_INGEST": os.environ.get("AIOPS_THROTTLE_INGEST", "100000/s"),
    }
    total = int(RATE * SECONDS)
    results = []
    for size in (SMALL, LARGE):
        platform = Platform(data_dir(size), **env).start()
        try:
            with connect(data_dir(size)) as conn:
                conn.autocommit = True
                seconds = seed(conn, size)
                vacuumed = steady(conn)
                platform.settle()
                # Resumes: half the requests, plus the first second's (no parks yet).
                each = total // 2 + int(RATE)
                cases = targets(conn, WARM + RUNS * each)
                # Warm the workers: 100 requests on their own cases, parks among them.
                transitions_run(platform, platform.token, cases[:WARM], 100, lag=20)
                platform.wait_idle()  # the warm-up's relay runs and deliveries done first
                result = {
                    "size": conn.execute("SELECT count(*) FROM ops_case").fetchone()[0],
                    "seed_s": seconds,
                    "vacuum_s": vacuumed,
                    "tables": sizes(conn),
                    "runs": [
                        transitions_run(
                            platform, platform.token, cases[WARM + i * each :][:each], total
                        )
                        for i in range(RUNS)
                    ],
                    "healthz": healthz_run(platform, total),
                    "plans": explain(conn, cases[0], platform.token[:15]),
                }
                result["http"] = median_run(result["runs"])
                print({k: v for k, v in result.items() if k != "plans"}, flush=True)
                results.append(result)
        finally:
            platform.stop()
    report(results)
    return results


def median_run(runs: list[dict]) -> dict:
    """Each figure's median over the runs (the failures of all of them)."""

    def median(key):
        values = [run[key] for run in runs]
        return None if None in values else statistics.median(values)

    keys = ("rate", "p50", "p99", "max", "client_cpu_ms", "busy", "machine_cpu_ms")
    return {
        **{key: median(key) for key in keys},
        "failures": [f for run in runs for f in run["failures"]],
    }


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def _share(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f} %"


def report(results: list[dict]) -> None:
    lines = [
        "## Case transitions over HTTP, open loop (`make bench-transitions`)",
        "",
        f"PATCH /case/{{id}}/transition (resumes of random seeded cases interleaved with parks "
        f"of the cases resumed a second earlier) due at a "
        f"steady {RATE:.0f} requests/s for {SECONDS:.0f} s, {RUNS} runs per size, against "
        f"`make run`'s processes (gunicorn with 4 sync workers, the relay process, the Celery "
        f"pools, beat); latency "
        f"from each request's due time, so a backlog counts (coordinated omission accounted "
        f"for). Floor: GET /healthz on the same schedule. Cases seeded set-based (INSERT … SELECT "
        f"generate_series, 10 timeline rows and 1 delivered outbox row each, a data dir per "
        f"size; `seeding s` is the time to seed what an earlier run had not; then VACUUM "
        f"(ANALYZE) and CHECKPOINT, `vacuum s`, so the run meets a settled history, not "
        f"autovacuum's passes over fresh rows), in the "
        f"environment `bench`, which the gate policy does not name: manual autopilot, so a "
        f"resume into PLANNING asks the Planner for nothing and the bench measures the "
        f"transition, not the loop. Its event reaches no subscriber (stored delivered, no "
        f"relay run); a park's reaches three, through a relay run. `cores busy`: the share "
        f"of all the machine's cores in use during the run (/proc/stat), client and "
        f"platform together; `machine CPU ms/request`: that CPU time over the requests, "
        f"the figure to compare between runs (the latency also depends on how near full "
        f"the cores were, and on the machine's speed: see the /healthz floor).",
        "",
        "| cases | tables | seeding s | vacuum s | path | achieved req/s | p50 ms | p99 ms | "
        "max ms | failed | client CPU ms/request | machine CPU ms/request | cores busy |",
        "|---:|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        measured = [(f"PATCH transition, run {i + 1}", run) for i, run in enumerate(r["runs"])]
        measured += [
            (f"**PATCH transition, median of {len(r['runs'])}**", r["http"]),
            ("floor: GET /healthz", r["healthz"]),
        ]
        for label, m in measured:
            lines.append(
                f"| {r['size']:,} | {r['tables']} | {r['seed_s']:.0f} | {r['vacuum_s']:.0f} | "
                f"{label} | {m['rate']:.0f} | {m['p50']:.1f} | {m['p99']:.1f} | "
                f"{m['max']:.0f} | {len(m['failures'])} | {m['client_cpu_ms']:.2f} | "
                f"{_ms(m['machine_cpu_ms'])} | {_share(m['busy'])} |"
            )
    lines += [
        "",
        f"Load average when the bench ended: {os.getloadavg()[0]:.1f}. Before: no open-loop "
        "bench; a closed loop of 4 clients on its own gunicorn made 329 transitions/s, p50 "
        "11.70 ms, p99 18.31 ms (2026-11-27), which hides queueing behind the clients' waits.",
    ]
    for r in results:
        lines += ["", f"Hot queries at {r['size']:,} cases:", "", "```", r["plans"], "```"]
    write_section("transitions-http", "\n".join(lines))
    print("\n".join(lines[: 6 + sum(len(r["runs"]) + 2 for r in results)]))


if __name__ == "__main__":
    main()
