"""A failed verification: the plan's rollback steps run (on_verify_fail: rollback, the
default), or the case waits for a person who rolls back or accepts (on_verify_fail: pause).

The loop tests run end to end with a real relay and Celery worker; the API's error paths
drive a case in this process."""

import uuid

import pytest
from django.db import transaction

from apps.cases.models import CaseTimeline, OpsCase
from apps.executor.models import ExecRun
from apps.gate import selectors as gate_selectors
from apps.gate import services as gate_services
from tests.conftest import client_for, make_user
from tests.support import swept, wait_for
from tests.test_verifier_loop import run_loop, seed_metrics
from tests.test_verifier_metric1m import check, deliver_result, plan, seed, verify

pytestmark = pytest.mark.django_db(transaction=True)


@transaction.atomic
def on_verify_fail(environment: str, mode: str) -> None:
    policy = gate_selectors.policy_in_force()
    environments = {name: dict(rules) for name, rules in policy.document["environments"].items()}
    environments[environment]["on_verify_fail"] = mode
    document = {**policy.document, "environments": environments}
    gate_services.policy_save(document=document, cedar=policy.cedar, actor="test")


def decide(client, case_id, decision: str, **fields):
    body = {"decision": decision, **fields}
    return client.post(f"/case/{case_id}/verify-decision", body, format="json")


def events_of(case_id) -> list[str]:
    return list(
        CaseTimeline.objects.filter(case_id=case_id).order_by("id").values_list("event", flat=True)
    )


def wait_rolled_back(case_id) -> ExecRun:
    return wait_for(
        swept(
            lambda: ExecRun.objects.filter(
                case_id=case_id, undoes__isnull=False, status=ExecRun.ROLLED_BACK
            ).first()
        ),
        timeout=60,
        what="the rollback run to finish",
    )


# --- end to end, with a worker ---


@pytest.mark.slow
def test_a_failed_verification_runs_the_rollback_steps_by_default(worker, api, ingest_api):
    seed_metrics(ingest_api, "payments", p95_ms=412, error_rate=0.01)
    case_id = run_loop(api, "payments")
    undo = wait_rolled_back(case_id)
    assert undo.undoes.status == ExecRun.SUCCEEDED
    assert [s.phase for s in undo.steps.all()] == ["rollback"] * undo.steps.count()
    assert OpsCase.objects.get(pk=case_id).state == "PARKED"
    trail = events_of(case_id)
    assert trail.index("verify_failed") < trail.index("verify_rollback_requested")
    assert trail.index("rollback_started") < trail.index("run_rolled_back")
    assert "verify_decision_pending" not in trail


@pytest.mark.slow
def test_with_pause_the_case_waits_and_a_persons_rollback_runs_the_steps(worker, api, ingest_api):
    on_verify_fail("staging", "pause")
    seed_metrics(ingest_api, "payments", p95_ms=412, error_rate=0.01)
    case_id = run_loop(api, "payments")
    wait_for(
        swept(lambda: "verify_decision_pending" in events_of(case_id)),
        what="the case to ask for a person",
    )
    assert not ExecRun.objects.filter(case_id=case_id, undoes__isnull=False).exists()
    response = api.post(f"/case/{case_id}/verify-decision", {"decision": "rollback"}, format="json")
    assert response.status_code == 200, response.json()
    wait_rolled_back(case_id)
    assert OpsCase.objects.get(pk=case_id).state == "PARKED"
    requested = CaseTimeline.objects.get(case_id=case_id, event="verify_rollback_requested")
    assert requested.actor == "olga"


@pytest.mark.slow
def test_with_pause_a_person_may_accept_and_the_case_closes_as_overridden(worker, api, ingest_api):
    on_verify_fail("staging", "pause")
    seed_metrics(ingest_api, "payments", p95_ms=412, error_rate=0.01)
    case_id = run_loop(api, "payments")
    wait_for(
        swept(lambda: "verify_decision_pending" in events_of(case_id)),
        what="the case to ask for a person",
    )
    response = api.post(
        f"/case/{case_id}/verify-decision",
        {"decision": "accept", "reason": "p95 is the new normal after the migration"},
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["state"] == "CLOSED"
    closed = CaseTimeline.objects.get(case_id=case_id, to_state="CLOSED")
    assert (closed.event, closed.data["verify_override"]) == ("close", True)
    assert "verify_accepted" in events_of(case_id)
    assert not ExecRun.objects.filter(case_id=case_id, undoes__isnull=False).exists()


# --- the API's other answers (no worker: the result is handed to the Orchestrator here) ---


@pytest.fixture
def waiting(new_case):
    """A staging case parked by a failed verification, waiting for a person."""
    from tests.conftest import drive_to_verifying

    on_verify_fail("staging", "pause")
    seed([500] * 5)
    case = drive_to_verifying(new_case(), document=plan(check()))
    verify(case)
    case = deliver_result(case)
    assert case.state == "PARKED"
    return case


def test_an_inconclusive_verification_waits_for_a_person_even_with_rollback(new_case):
    from tests.conftest import drive_to_verifying

    case = drive_to_verifying(new_case(), document=plan(check()))  # no metrics: no data
    verify(case)
    case = deliver_result(case)
    assert "verify_decision_pending" in events_of(case.pk)
    assert "verify_rollback_requested" not in events_of(case.pk)


def test_a_decision_is_taken_once(api, waiting):
    url = f"/case/{waiting.pk}/verify-decision"
    assert api.post(url, {"decision": "accept"}, format="json").status_code == 200
    second = api.post(url, {"decision": "rollback"}, format="json")
    assert second.status_code == 409
    assert second.json()["type"].endswith("no-verify-decision")


def test_a_rollback_decision_asks_the_executor_through_the_outbox(api, waiting):
    from apps.cases.models import Outbox

    response = api.post(
        f"/case/{waiting.pk}/verify-decision", {"decision": "rollback"}, format="json"
    )
    assert response.status_code == 200
    command = Outbox.objects.get(subject=str(waiting.pk), type="cmd.exec.rollback.v1")
    assert command.data["requested_by"] == "olga"


def test_a_case_not_waiting_for_a_decision_is_a_409(api, new_case):
    case = new_case()
    response = api.post(f"/case/{case.pk}/verify-decision", {"decision": "accept"}, format="json")
    assert response.status_code == 409
    assert response["Content-Type"] == "application/problem+json"


def test_an_unknown_decision_is_a_400(api, waiting):
    response = api.post(
        f"/case/{waiting.pk}/verify-decision", {"decision": "ignore"}, format="json"
    )
    assert response.status_code == 400


def test_an_unknown_case_is_a_404(api):
    response = api.post(
        f"/case/{uuid.uuid4()}/verify-decision", {"decision": "accept"}, format="json"
    )
    assert response.status_code == 404


def test_a_viewer_may_not_decide(waiting):
    viewer = client_for(make_user("vera", "viewer"))
    response = viewer.post(
        f"/case/{waiting.pk}/verify-decision", {"decision": "accept"}, format="json"
    )
    assert response.status_code == 403
