"""The seed's closed loop, end to end over HTTP with a real relay and Celery worker: a person
starts analysis and proposes a plan; the loop does the rest (plan_ready, gate, run, verify).

As in `make demo`, the plan is the restart template's with its steps run by the echo adapter
(there is no Kubernetes cluster here); its verify checks (p95 latency, error rate) stay."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.cases.models import CaseTimeline, OpsCase
from apps.executor.models import ExecRun, ExecStep
from apps.gate.models import GateDecision
from apps.planner.templates import build_change_plan
from apps.verifier.models import VerifyCheckpoint
from scripts.demo import echo_rendition
from tests.support import swept, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def seed_metrics(ingest_api, service: str, p95_ms: float, error_rate: float) -> None:
    """Eleven minutes up to now, so the 5-minute window is covered whenever it is read."""
    now = timezone.now()
    points = [
        {
            "service": service,
            "metric": metric,
            "ts": (now - timedelta(minutes=m)).isoformat(),
            "value": value,
        }
        for m in range(11)
        for metric, value in (("http_p95_ms", p95_ms), ("http_error_rate", error_rate))
    ]
    response = ingest_api.post("/ingest/metrics", points, format="json")
    assert response.status_code == 200, response.json()


def run_loop(api, service: str) -> str:
    created = api.post(
        "/case/create",
        {"title": f"{service} p95 up", "service": service, "environment": "staging"},
        format="json",
    )
    assert created.status_code == 201
    case_id = created.json()["id"]
    started = api.patch(f"/case/{case_id}/transition", {"event": "start_analysis"}, format="json")
    assert started.json()["state"] == "ANALYZING"
    wait_for(
        swept(lambda: OpsCase.objects.filter(pk=case_id, state="PLANNING").exists()),
        timeout=60,
        what="the Analyst's report to move the case to PLANNING",
    )
    target = {"environment": "staging", "service": service}
    document = echo_rendition(
        build_change_plan("restart", target, {"verify_delay_s": 0}, now=timezone.now())
    )
    plan = api.post("/plan/generate", {"case_id": case_id, "plan": document}, format="json")
    assert plan.status_code == 201, plan.json()
    try:
        wait_for(
            swept(
                lambda: OpsCase.objects.filter(pk=case_id, state__in=["CLOSED", "PARKED"]).exists()
            ),
            timeout=90,
            what="the case to close or park",
        )
    except AssertionError as stuck:
        rows = CaseTimeline.objects.filter(case_id=case_id).order_by("id")
        trail = [(r.event, r.to_state, r.actor, r.reason[:120]) for r in rows]
        raise AssertionError(f"{stuck}; timeline: {trail}") from None
    return case_id


def assert_audit_trail(case_id: str) -> None:
    events = list(
        CaseTimeline.objects.filter(case_id=case_id).order_by("id").values_list("event", flat=True)
    )
    for expected in (
        "create",
        "start_analysis",
        "analysis_done",
        "plan_ready",
        "gate_approved",
        "exec_done",
        "verify_scheduled",
    ):
        assert expected in events, events
    assert GateDecision.objects.get(case_id=case_id).decision == "approved"
    run = ExecRun.objects.get(case_id=case_id, undoes__isnull=True)  # not its rollback
    assert run.status == ExecRun.SUCCEEDED
    assert ExecStep.objects.filter(run=run).exists()


def test_healthy_metrics_close_the_loop(worker, api, ingest_api):
    seed_metrics(ingest_api, "checkout", p95_ms=180, error_rate=0.01)
    case_id = run_loop(api, "checkout")
    assert OpsCase.objects.get(pk=case_id).state == "CLOSED"
    assert_audit_trail(case_id)
    closed = CaseTimeline.objects.get(case_id=case_id, to_state="CLOSED")
    assert closed.event == "verify_pass"
    checkpoints = api.get(f"/verify/{case_id}/checkpoints").json()["results"]
    assert [(c["check_name"], c["result"]) for c in checkpoints] == [
        ("p95-latency", "pass"),
        ("error-rate", "pass"),
    ]


def test_breached_slo_parks_the_case_naming_the_check(worker, api, ingest_api):
    seed_metrics(ingest_api, "payments", p95_ms=412, error_rate=0.01)
    case_id = run_loop(api, "payments")
    assert OpsCase.objects.get(pk=case_id).state == "PARKED"
    assert_audit_trail(case_id)
    parked = CaseTimeline.objects.get(case_id=case_id, event="verify_failed")
    assert parked.to_state == "PARKED"
    assert "check 'p95-latency' fail: p95 latency 412 ms > 300 ms for 5 of 5 minutes" in (
        parked.reason
    )
    results = dict(
        VerifyCheckpoint.objects.filter(case_id=case_id).values_list("check_name", "result")
    )
    assert results == {"p95-latency": "fail", "error-rate": "pass"}
