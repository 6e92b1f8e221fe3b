"""The loop drives itself: real relay, real Celery workers, the kubernetes adapter against a
fake API server (the wire). After create nobody calls anything — except, in prod, one
human approval."""

from datetime import timedelta

import pytest
from django.db.models import F
from django.utils import timezone

from apps.cases.models import CaseTimeline, OpsCase
from apps.executor.models import ExecRun
from apps.gate import services as gate_services
from apps.sensor.points import Point
from apps.sensor.services import metrics_upsert
from tests import support
from tests.conftest import client_for, make_user
from tests.fakes.kube_api import FakeKubeAPI

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

# No windows or freezes: what the suite sees must not depend on the day it runs. Both
# environments may touch the fake cluster's "default" namespace, where the deployment is.
TARGETS = {"actions": ["echo.*", "kubernetes.*"], "kubernetes_namespaces": ["default"]}
POLICY = {
    "approval_ttl_minutes": 240,
    "environments": {
        "staging": {
            "auto_approve_max": 60,
            "reject_min": 95,
            "autopilot": "low_risk",
            "targets": TARGETS,
        },
        "prod": {
            "auto_approve_max": 20,
            "reject_min": 95,
            "four_eyes": True,
            "autopilot": "supervised",
            "targets": TARGETS,
        },
    },
}
SYSTEM_ACTORS = {
    "system:orchestrator",
    "system:gate",
    "system:planner",
    "system:executor",
    "system:verifier",
}


@pytest.fixture
def kube(tmp_path):
    fake = FakeKubeAPI().start()
    fake.add_deployment("default", "checkout", "shop/checkout:1.0", replicas=2)
    fake.kubeconfig = fake.write_kubeconfig(tmp_path / "kubeconfig")
    yield fake
    fake.stop()


@pytest.fixture
def loop_workers(transactional_db, kube):
    """The control plane and the executor, as `make run` starts them, against the fake API."""
    gate_services.policy_save(document=POLICY, cedar="", actor="test")
    support.purge_broker()
    env = {"KUBECONFIG": str(kube.kubeconfig), "AIOPS_EXEC_K8S_NAMESPACES": "default"}
    processes = [
        support.celery_worker(queues="celery", concurrency=2, **env).start(),
        support.celery_worker(queues="executor", concurrency=1, **env).start(),
    ]
    yield processes
    for process in processes:
        process.stop()
    support.purge_broker()


def healthy_metrics(service="checkout"):
    now = timezone.now().replace(second=0, microsecond=0)
    metrics_upsert(
        points=[
            Point(now - timedelta(minutes=m), service, metric, {}, v)
            for m in range(11)
            for metric, v in (("http_p95_ms", 180.0), ("http_error_rate", 0.01))
        ]
    )


def create(api, environment: str) -> str:
    body = {
        "title": "checkout p95 up",
        "service": "checkout",
        "environment": environment,
        "template": "restart",
        "params": {"namespace": "default", "verify_delay_s": 0, "verify_window_s": 300},
    }
    response = api.post("/case/create", body, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["state"] == "ANALYZING"  # it starts by itself
    return response.json()["id"]


def settled(case_id: str, *states: str, timeout: float = 90) -> OpsCase:
    return support.wait_for(
        support.swept(lambda: OpsCase.objects.filter(pk=case_id, state__in=states).first()),
        timeout=timeout,
        what=f"case {case_id} to reach {states}",
    )


def transitions(case_id: str) -> list[tuple[str, str]]:
    """(event, actor) of each state change, oldest first (notes keep from == to)."""
    rows = CaseTimeline.objects.filter(case_id=case_id).exclude(from_state=F("to_state"))
    return list(rows.order_by("id").values_list("event", "actor"))


def test_a_templated_staging_case_closes_with_no_call_after_create(loop_workers, kube, api):
    healthy_metrics()
    case_id = create(api, "staging")
    case = settled(case_id, "CLOSED", "PARKED")
    assert case.state == "CLOSED", list(
        CaseTimeline.objects.filter(case_id=case_id).values_list("event", "reason")
    )
    moves = transitions(case_id)
    assert [event for event, _ in moves] == [
        "create",
        "start_analysis",
        "analysis_done",
        "plan_ready",
        "gate_approved",
        "exec_done",
        "verify_pass",
    ]
    # Only the creator is a person; every later move was the loop's own.
    assert {actor for _, actor in moves[1:]} <= SYSTEM_ACTORS
    assert kube.deployment("default", "checkout")["spec"]["template"]["metadata"].get(
        "annotations", {}
    ), "the restart reached the (fake) API server"
    run = ExecRun.objects.get(case_id=case_id)
    assert run.status == ExecRun.SUCCEEDED


def test_a_prod_case_waits_at_the_gate_and_one_approval_closes_it(loop_workers, api):
    healthy_metrics()
    case_id = create(api, "prod")
    settled(case_id, "WAIT_GATE")
    support.wait_for(
        lambda: CaseTimeline.objects.filter(case_id=case_id, event="gate_decision").first(),
        what="the gate's decision",
    )
    decision = CaseTimeline.objects.get(case_id=case_id, event="gate_decision")
    assert decision.data["decision"] == "needs_human"
    assert "supervised" in decision.reason
    assert OpsCase.objects.get(pk=case_id).state == "WAIT_GATE"

    approver = client_for(make_user("alice", "approver"))
    response = approver.post("/gate/approve", {"case_id": case_id}, format="json")
    assert response.status_code == 200, response.json()
    case = settled(case_id, "CLOSED", "PARKED")
    assert case.state == "CLOSED"
    approved = CaseTimeline.objects.get(case_id=case_id, event="gate_approved")
    assert approved.actor == "alice"


def test_the_creator_of_a_prod_case_cannot_approve_its_plan(loop_workers, operator, api):
    from django.contrib.auth.models import Group

    operator.groups.add(Group.objects.get_or_create(name="approver")[0])
    case_id = create(api, "prod")
    support.wait_for(
        lambda: CaseTimeline.objects.filter(case_id=case_id, event="gate_decision").first(),
        what="the gate's decision",
    )
    response = api.post("/gate/approve", {"case_id": case_id}, format="json")
    assert response.status_code == 403
    assert response.json()["type"].endswith("/four-eyes")
    assert OpsCase.objects.get(pk=case_id).state == "WAIT_GATE"
