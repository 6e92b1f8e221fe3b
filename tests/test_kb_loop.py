"""The Librarian in the loop: plans cite the runbook that covers their case, a closed case
becomes a document findable as a similar case, and plans carry the track record of their
change on similar cases."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.cases import workflow as wf
from apps.cases.models import OpsCase
from apps.kb.models import KbDoc
from apps.kb.services import chunks_embed, doc_ingest
from apps.planner.models import PlanProposed
from apps.sensor.points import Point, floor_minute
from apps.sensor.services import metrics_upsert
from tests import factories
from tests.conftest import sample_plan
from tests.kb_support import DISK, POSTMORTEM, RUNBOOK

pytestmark = pytest.mark.django_db


def ingest(*docs):
    for doc in docs:
        doc_ingest(**doc, actor="test")
    chunks_embed()


def closed_case(operator, title, description=""):
    """A case through the whole loop with a restart-like echo plan, verified and closed."""
    now = floor_minute(timezone.now())
    metrics_upsert(
        points=[
            Point(now - timedelta(minutes=m), "checkout", "http_p95_ms", {}, 150.0)
            for m in range(6)
        ]
    )
    case = factories.new_case(operator, title=title, description=description)
    plan = sample_plan()
    plan["metadata"]["template"] = "restart"
    case = factories.drive_to_verifying(case, operator, plan)
    from apps.verifier.services import verify_case

    verify_case(case_id=case.pk)
    factories.deliver_outbox()
    case = OpsCase.objects.get(pk=case.pk)
    assert case.state == wf.CLOSED
    return case


def test_a_closed_case_becomes_a_case_document(operator):
    case = closed_case(operator, "checkout p95 latency above 300 ms")
    doc = KbDoc.objects.get(kind="case")
    assert doc.title == "Case: checkout p95 latency above 300 ms"
    assert doc.meta["case_id"] == str(case.pk)
    assert doc.meta["result"] == "verified"
    assert "## Verification" in doc.body and "verify_pass" in doc.body


def test_a_new_case_with_the_same_symptoms_finds_the_closed_one(operator, viewer_api):
    old = closed_case(operator, "checkout p95 latency above 300 ms, place order spins")
    closed_case(operator, "billing invoices stuck in the queue")
    chunks_embed()
    new = factories.new_case(operator, title="checkout is slow: p95 latency high")
    response = viewer_api.get(f"/case/{new.pk}/similar?k=2")
    assert response.status_code == 200, response.content
    cases = response.json()["cases"]
    assert cases[0]["case_id"] == str(old.pk)
    assert cases[0]["result"] == "verified"
    assert str(new.pk) not in [c["case_id"] for c in cases]


def test_similar_refuses_k_out_of_range(operator, viewer_api):
    case = factories.new_case(operator)
    response = viewer_api.get(f"/case/{case.pk}/similar?k=500")
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/problem+json")


def test_a_plan_for_an_alert_cites_the_runbook_that_covers_it(operator, ingest_api):
    ingest(RUNBOOK, POSTMORTEM, DISK)
    factories.set_autopilot(
        "prod",
        wf.AUTOPILOT_SUPERVISED,
        auto_approve_max=20,
        reject_min=101,
        four_eyes=True,
        targets=factories.TEMPLATE_TARGETS,
    )
    alert = {
        "status": "firing",
        "labels": {
            "alertname": "CheckoutLatencyHigh",
            "service": "checkout",
            "severity": "warning",
        },
        "annotations": {"summary": "checkout p95 latency above 300 ms for 5 minutes"},
        "startsAt": "2026-12-01T10:00:00Z",
        "fingerprint": "lat1",
    }
    response = ingest_api.post(
        "/ingest/alertmanager", {"version": "4", "alerts": [alert]}, format="json"
    )
    assert response.status_code == 200, response.content
    factories.deliver_outbox()
    plan = PlanProposed.objects.get()
    first = plan.references[0]
    assert first["title"] == "Checkout latency"
    assert first["url"] == RUNBOOK["source_url"]
    assert "rollout undo" in first["rollback_hint"]["text"]


def test_a_plan_carries_the_track_record_of_its_change_on_similar_cases(operator):
    for n in range(2):
        closed_case(operator, f"checkout p95 latency above 300 ms ({n})")
    chunks_embed()
    case = factories.drive_to_planning(
        factories.new_case(operator, title="checkout p95 latency above 300 ms again"), operator
    )
    plan = factories.propose(case, operator, sample_plan())
    record = plan.track_record["restart"]
    assert (record["total"], record["verified"]) == (2, 2)
    assert record["sentence"] == "restart verified on 2 of 2 similar case(s)"
