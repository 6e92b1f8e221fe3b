"""Racing approvers against a live server: one decision wins."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from apps.cases.models import CaseTimeline
from apps.gate import services
from apps.gate.models import GateDecision, PlanApproved
from tests.conftest import make_user, token_for
from tests.factories import TEMPLATE_TARGETS, deliver_outbox

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def race(count: int, send) -> list[requests.Response]:
    barrier = threading.Barrier(count)

    def one(index):
        barrier.wait()
        return send(index)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(one, range(count)))


def test_two_approvers_at_the_same_moment_produce_one_decision(live_server, api, new_case):
    services.policy_save(
        document={
            "environments": {
                "prod": {
                    "auto_approve_max": 0,
                    "reject_min": 100,
                    "autopilot": "manual",
                    "targets": TEMPLATE_TARGETS,
                }
            }
        },
        cedar="",
        actor="test",
    )
    case = new_case(environment="prod")
    api.patch(f"/case/{case.pk}/transition", {"event": "start_analysis"}, format="json")
    api.post("/plan/generate", {"case_id": str(case.pk), "template": "restart"}, format="json")
    deliver_outbox()  # the Orchestrator: analysis_done
    api.patch(f"/case/{case.pk}/transition", {"event": "plan_ready"}, format="json")
    assert services.gate_eval(case_id=case.pk, actor="olga").decision == "needs_human"
    tokens = [token_for(make_user(name, "approver")) for name in ("ann", "ben")]

    def send(index):
        return requests.post(
            f"{live_server.url}/gate/approve",
            json={"case_id": str(case.pk), "comment": f"go {index}"},
            headers={"Authorization": f"Token {tokens[index]}"},
            timeout=60,
        )

    statuses = sorted(r.status_code for r in race(2, send))
    assert statuses == [200, 409]
    assert GateDecision.objects.filter(case=case, decision="approved").count() == 1
    assert PlanApproved.objects.filter(case=case).count() == 1
    assert CaseTimeline.objects.filter(case=case, event="gate_decision").count() == 2


def test_an_approver_and_a_rejecter_at_the_same_moment_produce_one_decision(
    live_server, api, new_case
):
    services.policy_save(
        document={
            "environments": {
                "prod": {
                    "auto_approve_max": 0,
                    "reject_min": 100,
                    "autopilot": "manual",
                    "targets": TEMPLATE_TARGETS,
                }
            }
        },
        cedar="",
        actor="test",
    )
    case = new_case(environment="prod")
    api.patch(f"/case/{case.pk}/transition", {"event": "start_analysis"}, format="json")
    api.post("/plan/generate", {"case_id": str(case.pk), "template": "restart"}, format="json")
    deliver_outbox()  # the Orchestrator: analysis_done
    api.patch(f"/case/{case.pk}/transition", {"event": "plan_ready"}, format="json")
    services.gate_eval(case_id=case.pk, actor="olga")
    token = token_for(make_user("ann", "approver"))

    def send(index):
        path = ("approve", "reject")[index]
        return requests.post(
            f"{live_server.url}/gate/{path}",
            json={"case_id": str(case.pk), "comment": "decided"},
            headers={"Authorization": f"Token {token}"},
            timeout=60,
        )

    statuses = sorted(r.status_code for r in race(2, send))
    assert statuses == [200, 409]
    human = GateDecision.objects.filter(case=case).exclude(decision="needs_human")
    assert human.count() == 1
