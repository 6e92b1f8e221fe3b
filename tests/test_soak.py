"""The unattended loop under worker kills: SIGKILL a worker every few seconds while cases run
create → CLOSED; every case ends CLOSED or PARKED with a reason, none is stuck, no step is
carried out twice. `make soak` runs 1,000 cases; the suite a short version (AIOPS_SOAK_CASES).
"""

import itertools
import os
import threading
from datetime import timedelta

import pytest
from django.db.models import Count
from django.utils import timezone

from apps.cases import workflow as wf
from apps.cases.models import OpsCase
from apps.cases.services import case_transition
from apps.executor.models import ExecRun, ExecStep
from apps.sensor.points import Point, floor_minute
from apps.sensor.services import metrics_upsert
from tests import factories, support
from tests.conftest import sample_plan

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

CASES = int(os.environ.get("AIOPS_SOAK_CASES", "40"))
# Cases open at once: work keeps arriving as others finish, as on a busy day, rather than
# the whole soak queued at the first second (make soak: 1,000 cases, 50 at a time).
IN_FLIGHT = int(os.environ.get("AIOPS_SOAK_IN_FLIGHT", "50"))
KILL_EVERY_S = float(os.environ.get("AIOPS_SOAK_KILL_EVERY_S", "2"))
# Short leases so a killed worker's claims and messages come back quickly. Deliveries keep
# the shipped resend wait: the broker hands back a dead worker's messages itself, and behind
# a thousand-case backlog a short wait only queues duplicates of deliveries still waiting.
FAST_RECOVERY = {
    "AIOPS_BROKER_VISIBILITY_TIMEOUT": "10",
    "AIOPS_OUTBOX_CLAIM_SECONDS": "5",
    "AIOPS_EXEC_LEASE_SECONDS": "5",
    "AIOPS_EXEC_SWEEP_SECONDS": "3",
    "AIOPS_VERIFY_OVERDUE_S": "15",
    # The soak measures the loop's recovery: a worker restarted every 2 s would reload the
    # Librarian's model for each plan (tests/test_kb_loop.py covers the lookups).
    "AIOPS_PLANNER_REFERENCES": "0",
}
SWEEPS = (
    "apps.cases.tasks.relay_outbox",
    "apps.executor.tasks.sweep_steps",
    "apps.verifier.tasks.sweep_verifications",
    "apps.gate.tasks.release_deferred",
)


def healthy(service: str) -> None:
    now = floor_minute(timezone.now())
    metrics_upsert(
        points=[
            Point(now - timedelta(minutes=m), service, "http_p95_ms", {}, 120.0)
            for m in range(-30, 10)  # the next half hour too: the soak may run that long
        ]
    )


def soak_plan() -> dict:
    plan = sample_plan()
    step = plan["spec"]["steps"][0]
    plan["spec"]["steps"] = [{**step, "id": f"s{i}", "idempotent": True} for i in range(2)]
    return plan


@pytest.mark.timeout(max(300, CASES * 4))
def test_the_loop_survives_workers_killed_every_few_seconds(operator, settings):
    settings.PLANNER_REFERENCES = False  # as in the workers (FAST_RECOVERY)
    factories.set_autopilot(
        "staging",
        wf.AUTOPILOT_LOW_RISK,
        auto_approve_max=60,
        reject_min=95,
        four_eyes=False,
        max_automated_runs=1000,
        targets=factories.TEMPLATE_TARGETS,
    )
    healthy("checkout")
    support.purge_broker()
    control = support.celery_worker(queues="celery", concurrency=2, **FAST_RECOVERY).start()
    execution = support.celery_worker(queues="executor", concurrency=2, **FAST_RECOVERY).start()
    workers = {"control": control, "execution": execution}
    stop, kills = threading.Event(), []

    def killer():
        for name in itertools.cycle(workers):
            if stop.wait(KILL_EVERY_S):
                return
            workers[name].kill()  # SIGKILL its whole process group: no shutdown runs
            kills.append(name)
            workers[name].start()

    def sweeper():
        """What beat does in `make run`: the periodic sweeps."""
        from aiops.celery import app

        while not stop.wait(2):
            for task in SWEEPS:
                app.send_task(task)

    cases = []
    threads = [threading.Thread(target=killer), threading.Thread(target=sweeper)]
    for thread in threads:
        thread.start()

    def open_cases() -> int:
        return (
            OpsCase.objects.filter(pk__in=cases).exclude(state__in=(wf.CLOSED, wf.PARKED)).count()
        )

    def every_worker_killed() -> bool:
        return set(kills) >= set(workers)

    try:
        # At least CASES cases, and cases keep arriving until each worker has been killed
        # with work in flight: a loop faster than the kill interval would otherwise end
        # before the first kill and prove nothing.
        for n in itertools.count():
            if n >= CASES and every_worker_killed():
                break
            if n >= 10 * CASES:
                pytest.fail(f"{len(cases)} cases opened and a worker still not killed: {kills}")
            if n >= IN_FLIGHT:
                support.wait_for(
                    lambda: open_cases() < IN_FLIGHT,
                    timeout=300,
                    interval=0.5,
                    what=f"one of {IN_FLIGHT} open cases to end",
                )
            # A person opens the case and writes its plan; the loop does the rest.
            case = factories.new_case(operator, title=f"soak {n}")
            case_transition(case_id=case.pk, event="start_analysis", actor="olga")
            factories.propose(case, operator, soak_plan())
            cases.append(case.pk)
        support.wait_for(
            lambda: open_cases() == 0,
            timeout=300,
            interval=1,
            what="every case to end CLOSED or PARKED",
        )
    finally:
        stop.set()
        for thread in threads:
            thread.join()
        for process in workers.values():
            process.stop()
        support.purge_broker()

    states = dict(OpsCase.objects.filter(pk__in=cases).values_list("state").annotate(n=Count("id")))
    print(f"soak: {len(cases)} cases ({IN_FLIGHT} at a time), {len(kills)} kills, {states}")
    assert every_worker_killed(), kills
    assert sum(states.values()) == len(cases)
    for case in OpsCase.objects.filter(pk__in=cases, state=wf.PARKED):
        assert case.timeline.filter(to_state=wf.PARKED).exclude(reason="").exists(), case.pk
    # One run per case, and each step carried out to success at most once.
    runs = ExecRun.objects.filter(case_id__in=cases).values("case").annotate(n=Count("id"))
    assert not runs.filter(n__gt=1).exists()
    doubled = (
        ExecStep.objects.filter(run__case_id__in=cases, status=ExecStep.SUCCEEDED)
        .values("run", "phase", "index")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
    )
    assert not doubled.exists(), list(doubled)
