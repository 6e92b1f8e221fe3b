"""Separate pools: steps run on the execution workers, the control plane on its own, so two
long steps filling the execution pool hold up no approval."""

import time

import pytest

from apps.cases import workflow as wf
from apps.cases.models import OpsCase
from apps.cases.services import case_transition
from apps.executor.models import ExecStep
from tests import factories, support
from tests.conftest import drive_to_executing, plan_step, sample_plan

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def long_plan():
    sleep = plan_step("hold", "script", "run", params={"name": "sleep", "args": ["60"]})
    return sample_plan(steps=[{**sleep, "timeout_s": 120}])


def test_an_approval_goes_through_while_two_long_steps_fill_the_execution_pool(
    operator, api, new_case
):
    # A case waiting at the gate, its plan ready (people drive it: autopilot manual here).
    factories.set_autopilot("staging", wf.AUTOPILOT_MANUAL)
    waiting = factories.drive_to_planning(new_case(), operator)
    factories.propose(waiting, operator, sample_plan())
    factories.deliver_outbox()
    case_transition(case_id=waiting.pk, event="plan_ready", actor="olga")
    factories.deliver_outbox()
    assert OpsCase.objects.get(pk=waiting.pk).state == wf.WAIT_GATE
    busy = [drive_to_executing(new_case(), document=long_plan()) for _ in range(2)]

    processes = [
        support.celery_worker(queues="celery", concurrency=2).start(),
        support.celery_worker(queues="executor", concurrency=2).start(),
    ]
    try:
        for case in busy:
            assert (
                api.post("/adapter/exec", {"case_id": str(case.pk)}, format="json").status_code
                == 202
            )
        support.wait_for(
            lambda: ExecStep.objects.filter(status=ExecStep.RUNNING, step_id="hold").count() == 2,
            timeout=60,
            what="both long steps running",
        )
        started = time.monotonic()
        response = api.post("/gate/eval", {"case_id": str(waiting.pk)}, format="json")
        assert response.json()["decision"] == "approved", response.json()
        support.wait_for(
            lambda: OpsCase.objects.get(pk=waiting.pk).state == wf.EXECUTING,
            timeout=50,
            what="the approved case in EXECUTING",
        )
        took = time.monotonic() - started
        print(f"gate/eval → EXECUTING with the execution pool full: {took:.2f} s")
        # Reached while both long steps still hold the execution pool.
        assert ExecStep.objects.filter(status=ExecStep.RUNNING, step_id="hold").count() == 2
    finally:
        for process in processes:
            process.stop()
        support.purge_broker()
