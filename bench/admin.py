"""`make bench-admin`: the operator's admin pages at 10,000 cases and 1,000,000 timeline rows.

Seeds, set-based (INSERT … SELECT generate_series, no ORM loop), 10,000 cases over 50
services in every state and 100 timeline rows each, 2,000 findings (200 in the last hour),
plus one case driven through the services (10 steps, 5 checks, 50 notes) whose case page is
measured. Then starts `make run`'s processes (bench.platform: gunicorn, workers, beat) on
var/bench-admin, signs in as the first admin with a browser's session and times each page
over HTTP: REQUESTS sequential requests after WARMUP, p50/p95, with /healthz as the floor.
Seeding happens once per data dir (delete var/bench-admin to seed again).
"""

from __future__ import annotations

import os
import re
import time

import django

from aiops import bootstrap

bootstrap.prepare()  # the data dir, metrics env and embedded servers, before Django
django.setup()

import requests  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from apps.cases.models import OpsCase  # noqa: E402
from bench.platform import Platform  # noqa: E402
from bench.report import percentile, write_section  # noqa: E402

CASES = int(os.environ.get("BENCH_CASES", "10000"))
ROWS_PER_CASE = int(os.environ.get("BENCH_ROWS_PER_CASE", "100"))
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "30"))
WARMUP = 3
SERVICE = "bench-admin"

SEED_CASES = """
INSERT INTO ops_case (id, title, service, environment, severity, description, labels,
                      template, params, state, version, created_at, updated_at,
                      state_entered_at)
SELECT gen_random_uuid(), 'bench case ' || g, %(service)s || '-' || (g %% 50),
       (ARRAY['dev', 'staging', 'prod'])[1 + g %% 3], 'sev3', '', '{}', '', '{}',
       (ARRAY['NEW', 'ANALYZING', 'PLANNING', 'WAIT_GATE', 'EXECUTING', 'VERIFYING',
              'CLOSED', 'PARKED', 'CLOSED', 'CLOSED'])[1 + g %% 10],
       1, now() - make_interval(mins => g), now() - make_interval(mins => g),
       now() - make_interval(mins => g)
FROM generate_series(1, %(cases)s) g
"""
SEED_TIMELINE = """
INSERT INTO case_timeline (case_id, event, from_state, to_state, actor, reason, request_id,
                           data, created_at)
SELECT c.id, 'bench_note', c.state, c.state, 'bench', 'row ' || g, '', '{}',
       c.created_at + make_interval(secs => g)
FROM (SELECT id, state, created_at FROM ops_case WHERE service LIKE %(prefix)s) c
CROSS JOIN generate_series(1, %(rows)s) g
"""
SEED_FINDINGS = """
INSERT INTO analysis_finding (id, fingerprint, source, kind, service, environment, metric,
                              labels, severity, status, observed, baseline, score,
                              window_start, window_end, summary, detail, quiet, started_at,
                              last_seen_at)
SELECT gen_random_uuid(), md5('bench' || g), 'rule', 'static_threshold',
       %(service)s || '-' || (g %% 50), 'prod', 'http_p95_ms', '{}', 'sev3', 'resolved',
       400, 200, 3, now() - make_interval(mins => g * 3), now() - make_interval(mins => g * 3),
       'bench finding ' || g, '{}', 0, now() - make_interval(mins => g * 3),
       now() - make_interval(mins => g * 3)
FROM generate_series(1, 2000) g
"""


def seed() -> str:
    """Seed once; returns the id of the case driven through the services."""
    call_command("migrate", verbosity=0)
    full = OpsCase.objects.filter(service="checkout", title="bench-admin full case").first()
    if OpsCase.objects.filter(service__startswith=SERVICE).count() >= CASES and full:
        return str(full.pk)
    started = time.perf_counter()
    args = {"service": SERVICE, "prefix": SERVICE + "-%", "cases": CASES, "rows": ROWS_PER_CASE}
    with connection.cursor() as cursor:
        cursor.execute(SEED_CASES, args)
        cursor.execute(SEED_TIMELINE, args)
        cursor.execute(SEED_FINDINGS, args)
        cursor.execute("ANALYZE ops_case, case_timeline, analysis_finding")
    print(
        f"seeded {CASES} cases, {CASES * ROWS_PER_CASE} timeline rows, 2000 findings "
        f"in {time.perf_counter() - started:.1f} s"
    )
    return str(_full_case().pk)


def _full_case() -> OpsCase:
    from tests import console_support

    console_support.seed_policy()
    user = console_support.make_user("bench-operator", "operator")
    case = console_support.verified_case(user, steps=10, checks=5, notes=50)
    OpsCase.objects.filter(pk=case.pk).update(title="bench-admin full case")
    return case


def signed_in(base: str, credentials: str) -> requests.Session:
    fields = dict(line.split(": ", 1) for line in credentials.splitlines() if ": " in line)
    session = requests.Session()
    login = session.get(f"{base}/admin/login/", timeout=30)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login.text)[1]
    answer = session.post(
        f"{base}/admin/login/?next=/admin/",
        data={
            "username": fields["username"],
            "password": fields["password"],
            "csrfmiddlewaretoken": token,
        },
        timeout=30,
    )
    assert answer.url.rstrip("/").endswith("/admin"), "the admin's sign-in failed"
    return session


def timed(session: requests.Session, url: str) -> list[float]:
    for _ in range(WARMUP):
        assert session.get(url, timeout=60).status_code == 200, url
    took = []
    for _ in range(REQUESTS):
        started = time.perf_counter()
        response = session.get(url, timeout=60)
        took.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    return took


def main() -> None:
    case_id = seed()
    platform = Platform(settings.DATA_DIR).start()
    try:
        session = signed_in(
            platform.base, (settings.DATA_DIR / "admin-credentials.txt").read_text()
        )
        pages = [
            ("floor: `/healthz`", "/healthz"),
            ("dashboard", "/admin/dashboard/"),
            ("case list", "/admin/cases/opscase/"),
            ("case page (10 steps, 5 charts, 50 notes)", f"/admin/cases/opscase/{case_id}/change/"),
            ("timeline list (1,000,000 rows)", "/admin/cases/casetimeline/"),
            ("one case's timeline (100 rows)", "/admin/cases/casetimeline/?case=" + _a_case()),
            ("pending approvals", "/admin/gate/gatedecision/pending/"),
            ("findings", "/admin/analyst/analysisfinding/"),
        ]
        rows = []
        load = os.getloadavg()[0]
        for name, path in pages:
            took = timed(session, platform.base + path)
            rows.append(f"| {name} | {percentile(took, 50):.1f} | {percentile(took, 95):.1f} |")
            print(rows[-1])
    finally:
        platform.stop()
    write_section(
        "admin",
        "## Operator admin pages at 10,000 cases (`make bench-admin`)\n\n"
        f"{CASES:,} cases (every state), {CASES * ROWS_PER_CASE:,} timeline rows, 2,000 "
        "findings, seeded set-based; `make run`'s processes (gunicorn 4 workers); one signed-in "
        f"admin, {REQUESTS} sequential requests per page after {WARMUP} warm-up ones. The "
        f"machine's 1-minute load average was {load:.1f} when timing began (other work shares "
        "its 2 cores): compare pages within one run, and each with the floor.\n\n"
        "| page | p50 ms | p95 ms |\n|---|---|---|\n" + "\n".join(rows),
    )


def _a_case() -> str:
    return str(OpsCase.objects.filter(service__startswith=SERVICE).values_list("pk", flat=True)[0])


if __name__ == "__main__":
    main()
