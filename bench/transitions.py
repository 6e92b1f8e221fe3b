"""`make bench-transitions`: case transitions/s and latency — service layer against the raw
floor, then over HTTP against `make run`'s processes (bench.transitions_http, open loop).

Each transition writes the same rows both ways: locked case row update + timeline row +
outbox row in one transaction.
- service: apps.cases.services.case_transition (django-fsm, guards, outbox, relay kick);
- floor: the same statements through a bare psycopg connection, no Django: lock and read the
  case row, update it, insert the timeline and outbox rows, read the policy in force when
  the state entered asks for it, and after commit set the relay's kick flag in Redis.
Median of RUNS runs, interleaved; written to docs/BENCHMARKS.md.
"""

from __future__ import annotations

import json
import os
import time
import uuid

import django

from aiops import bootstrap

bootstrap.prepare()  # the data dir, metrics env and embedded servers, before Django
django.setup()

import psycopg  # noqa: E402
import redis  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.auth.models import User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from apps.cases import services  # noqa: E402
from bench.report import median, percentile, write_section  # noqa: E402

RUNS = int(os.environ.get("BENCH_RUNS", "5"))
TRANSITIONS = int(os.environ.get("BENCH_TRANSITIONS", "1000"))
# park/resume can repeat forever, so every run makes the same writes on few cases.
CYCLE = [("park", "bench"), ("resume", "")]


def new_cases(count: int, user) -> list[str]:
    ids = []
    for _ in range(count):
        case = services.case_create(actor=user, title="bench", service="bench", environment="b")
        services.case_transition(case_id=case.pk, event="start_analysis", actor="bench")
        ids.append(str(case.pk))
    return ids


def timed(fn, count: int) -> tuple[float, list[float]]:
    latencies = []
    start = time.perf_counter()
    for i in range(count):
        t0 = time.perf_counter()
        fn(i)
        latencies.append(time.perf_counter() - t0)
    return time.perf_counter() - start, latencies


def service_run(user) -> tuple[float, list[float]]:
    (case_id,) = new_cases(1, user)

    def one(i):
        event, reason = CYCLE[i % 2]
        services.case_transition(case_id=case_id, event=event, actor="bench", reason=reason)

    return timed(one, TRANSITIONS)


FLOOR_SQL = [
    "SELECT * FROM ops_case WHERE id = %(id)s FOR UPDATE",
    "UPDATE ops_case SET state = %(to)s, version = version + 1, updated_at = now(), "
    "state_entered_at = now() WHERE id = %(id)s",
    "INSERT INTO case_timeline (case_id, event, from_state, to_state, actor, reason, "
    "request_id, data, created_at) VALUES (%(id)s, %(event)s, %(from)s, %(to)s, 'bench', "
    "%(reason)s, '', '{}', now())",
    "INSERT INTO outbox (event_id, type, source, subject, time, data, request_id, traceparent, "
    "claimed_by, attempts, last_error) VALUES (%(eid)s, 'evt.case.transition.v1', 'urn:aiops', "
    "%(id)s, now(), %(data)s, '', '', '', 0, '')",
]
# Entering PLANNING, the service reads the key of the policy in force for the environment's
# autopilot (parsed once per version; the bench's environment is manual: no command follows).
FLOOR_ON_ENTRY_SQL = [
    "SELECT id, version, created_at FROM gate_policy ORDER BY version DESC LIMIT 1",
]


def floor_run(user) -> tuple[float, list[float]]:
    (case_id,) = new_cases(1, user)
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    states = {"park": ("PLANNING", "PARKED"), "resume": ("PARKED", "PLANNING")}
    kick = redis.Redis.from_url(settings.CACHES["default"]["LOCATION"])
    with psycopg.connect(**params) as raw:
        raw.execute("UPDATE ops_case SET state = 'PLANNING' WHERE id = %s", [case_id])
        raw.commit()

        def one(i):
            event, reason = CYCLE[i % 2]
            frm, to = states[event]
            args = {"id": case_id, "event": event, "from": frm, "to": to, "reason": reason}
            args["eid"] = uuid.uuid4()
            args["data"] = json.dumps({"event": event, "from": frm, "to": to})
            with raw.transaction():
                for sql in FLOOR_SQL + (FLOOR_ON_ENTRY_SQL if to == "PLANNING" else []):
                    cursor = raw.execute(sql, args)
                    if cursor.description:  # read the rows, as the ORM does
                        cursor.fetchall()
            # After commit, as the service: the relay's kick flag (apps.cases.relay).
            kick.set("aiops:relay:kick", "1", nx=True, px=settings.OUTBOX_KICK_TTL_MS)

        return timed(one, TRANSITIONS)


def summarize(runs: list[tuple[float, list[float]]]) -> dict:
    return {
        "tps": median([len(lat) / wall for wall, lat in runs]),
        "p50": median([percentile(lat, 50) for _, lat in runs]) * 1000,
        "p99": median([percentile(lat, 99) for _, lat in runs]) * 1000,
    }


def main() -> None:
    call_command("migrate", interactive=False, verbosity=0)
    user, _ = User.objects.get_or_create(username="bench", defaults={"is_superuser": True})
    results = {}
    floor_runs, service_runs, inline_runs = [], [], []
    for _ in range(RUNS):  # interleaved, so drift in machine load hits both alike
        floor_runs.append(floor_run(user))
        # The write path alone, as the floor: after commit only the relay's kick flag.
        settings.OUTBOX_RELAY_INLINE = False
        service_runs.append(service_run(user))
        # AIOPS_OUTBOX_RELAY_INLINE: after commit the process relays its events itself
        # (claim, queue the deliveries of the subscribers that want them, mark published),
        # work a relay run would otherwise do on the control pool.
        settings.OUTBOX_RELAY_INLINE = True
        inline_runs.append(service_run(user))
    results["floor"] = summarize(floor_runs)
    results["service"] = summarize(service_runs)
    results["inline"] = summarize(inline_runs)
    floor = results["floor"]["tps"]
    rows = [
        ("raw psycopg transaction (floor)", "floor"),
        ("service layer (`case_transition`), the write", "service"),
        ("service layer, then relaying its event inline (`AIOPS_OUTBOX_RELAY_INLINE`)", "inline"),
    ]
    lines = [
        "## Case transitions (`make bench-transitions`)",
        "",
        f"{TRANSITIONS} transitions per run (park/resume on a case), median of {RUNS} runs. Each "
        "locks and reads the case row, updates it, writes a timeline row and an outbox row in "
        "one transaction, and a resume (into PLANNING) reads the key of the policy in force; "
        "the floor sends the same statements over bare psycopg and sets the same Redis flag "
        "after commit. The service and HTTP paths also run the ORM, django-fsm and the guard. "
        "After commit the service sets the relay's Redis kick flag (as shipped), or, with "
        "AIOPS_OUTBOX_RELAY_INLINE, "
        "relays its event itself: claims it, queues its deliveries to the subscribers that "
        "want it (a park: three, in one task) and marks it published (no worker runs here). "
        "The service's lock, update and inserts run statements built once per process "
        "(`aiops.rows`), not compiled per call. The HTTP path: the next section. Profiles: "
        "docs/perf/transitions.md.",
        "",
        "| path | transitions/s | p50 ms | p99 ms | throughput vs floor |",
        "|---|---:|---:|---:|---:|",
    ]
    for label, key in rows:
        r = results[key]
        lines.append(
            f"| {label} | {r['tps']:.0f} | {r['p50']:.2f} | {r['p99']:.2f} | "
            f"{r['tps'] / floor:.2f}x |"
        )
    lines += [
        "",
        f"Load average when the bench started: {os.getloadavg()[0]:.1f}. Before (2026-11-27, "
        "load not recorded, the gate policy read on every transition; a floor of four "
        "statements, no policy read or kick): floor 1321/s p50 0.74 ms, service 520/s p50 "
        "1.86 ms, **0.39x**; HTTP closed loop (own gunicorn, 4 clients) 329/s, p50 11.70 ms, "
        "p99 18.31 ms. 2026-12-02, before this floor: 0.23x (101 against 446 per s); "
        "with it, before `aiops.rows`: 0.45-0.48x (229-243 against 507-514 per s).",
    ]
    write_section("transitions", "\n".join(lines))
    print("\n".join(lines))
    if os.environ.get("BENCH_HTTP", "1") == "1":
        from bench import transitions_http

        transitions_http.main()


if __name__ == "__main__":
    main()
