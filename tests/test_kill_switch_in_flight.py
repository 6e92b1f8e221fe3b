"""The kill switch against 20 runs in flight on real Celery workers: every run stops at its
next step boundary, none starts a step after the switch, each case says why."""

import pytest
from django.db.models import Max

from apps.cases.models import CaseTimeline, OpsCase
from apps.executor import services as executor_services
from apps.executor.models import ExecRun, ExecStep
from apps.gate import selectors as gate_selectors
from apps.gate import services as gate_services
from tests import support
from tests.conftest import plan_step, sample_plan
from tests.factories import drive_to_executing, new_case

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

RUNS = 20
STEPS = [plan_step(f"step-{n}", params={"sleep_s": 0.5}) for n in range(4)]


@pytest.mark.timeout(300)
def test_twenty_runs_in_flight_all_stop_and_none_starts_a_step_after(operator, capsys):
    cases = [
        drive_to_executing(new_case(operator), operator, sample_plan(steps=STEPS))
        for _ in range(RUNS)
    ]
    for case in cases:
        executor_services.exec_start(case_id=case.pk, actor="olga")
    support.purge_broker()
    workers = [
        support.celery_worker(queues="celery", concurrency=1).start(),
        support.celery_worker(queues="executor", concurrency=2).start(),
    ]
    try:
        # Enqueued before the workers' broker was purged: queue the first steps again.
        for step in ExecStep.objects.filter(status=ExecStep.QUEUED):
            executor_services._enqueue(step.message_id)
        support.wait_for(
            lambda: ExecStep.objects.filter(status=ExecStep.SUCCEEDED).count() >= 4,
            what="some steps to have run",
        )
        gate_services.kill_switch_set(engaged=True, actor="alice", reason="stop everything")
        engaged_at = gate_selectors.kill_switch().changed_at
        support.wait_for(
            lambda: (
                not OpsCase.objects.filter(pk__in=[c.pk for c in cases], state="EXECUTING").exists()
            ),
            timeout=120,
            what="every case to leave EXECUTING",
        )
    finally:
        for worker in workers:
            worker.stop()

    assert not ExecStep.objects.filter(started_at__gt=engaged_at).exists()
    assert not ExecRun.objects.filter(status__in=ExecRun.ACTIVE).exists()
    for case in cases:
        assert OpsCase.objects.get(pk=case.pk).state == "PARKED"
        parked = CaseTimeline.objects.get(case=case, to_state="PARKED")
        assert "kill switch" in parked.reason, parked.reason
        assert CaseTimeline.objects.filter(case=case, event="kill_switch_engaged").exists()

    # How long after the switch each run ended, beyond the step it was running then.
    lags = []
    for run in ExecRun.objects.filter(case__in=cases):
        in_flight_end = run.steps.filter(started_at__lte=engaged_at).aggregate(
            end=Max("finished_at")
        )["end"]
        boundary = max(engaged_at, in_flight_end or engaged_at)
        lags.append((run.finished_at - boundary).total_seconds())
    lags.sort()
    with capsys.disabled():
        print(
            f"\nkill switch: {RUNS} runs stopped; seconds past the step boundary: "
            f"median {lags[len(lags) // 2]:.3f}, max {lags[-1]:.3f}"
        )
