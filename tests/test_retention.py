"""Bounded growth: the retention task deletes in batches what is past its retention —
closed cases archived first — and keeps everything else, with the loop running."""

import os
import threading
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.analyst.models import AnalysisFinding
from apps.cases import workflow as wf
from apps.cases.models import CaseArchive, CaseTimeline, Inbox, OpsCase, Outbox
from apps.cases.retention import run_retention
from apps.cases.services import case_transition
from apps.executor.models import ExecRun, ExecStep
from apps.gate.models import GateDecision
from apps.planner.models import PlanProposed
from apps.verifier.models import VerifyCheckpoint
from tests import factories
from tests.conftest import sample_plan

LONG_AGO = timezone.now() - timedelta(days=400)


def closed_case(operator, title="old"):
    """A case through the whole loop (echo steps, a passing check), closed."""
    from apps.sensor.points import Point, floor_minute
    from apps.sensor.services import metrics_upsert

    case = factories.new_case(operator, title=title)
    now = floor_minute(timezone.now())
    metrics_upsert(
        points=[
            Point(now - timedelta(minutes=m), "checkout", "http_p95_ms", {}, 150.0)
            for m in range(1440, 1445)
        ]
        + [
            Point(now - timedelta(minutes=m), "checkout", "http_p95_ms", {}, 150.0)
            for m in range(6)
        ]
    )
    case = factories.drive_to_verifying(case, operator, sample_plan())
    from apps.verifier.services import verify_case

    verify_case(case_id=case.pk)
    factories.deliver_outbox()
    case = OpsCase.objects.get(pk=case.pk)
    assert case.state == wf.CLOSED, case.state
    return case


@pytest.mark.django_db
def test_a_closed_case_past_retention_is_archived_then_deleted_with_its_detail(operator, settings):
    settings.RETAIN_CASES_DAYS = 30
    case = closed_case(operator)
    OpsCase.objects.filter(pk=case.pk).update(updated_at=LONG_AGO)
    done = run_retention()
    assert done["cases"] == 1
    assert not OpsCase.objects.filter(pk=case.pk).exists()
    for model in (CaseTimeline, PlanProposed, GateDecision, ExecRun, VerifyCheckpoint):
        assert not model.objects.filter(case_id=case.pk).exists(), model
    assert not ExecStep.objects.filter(run__case_id=case.pk).exists()
    summary = CaseArchive.objects.get(case_id=case.pk).summary
    assert summary["case"]["state"] == "CLOSED"
    assert [p["revision"] for p in summary["plans"]] == [1]
    assert summary["gate_decisions"][0]["decision"] == "approved"
    assert summary["runs"][0]["status"] == "succeeded"
    assert summary["verification"][0]["result"] == "pass"
    assert "verify_pass" in [row["event"] for row in summary["timeline"]]


@pytest.mark.django_db
def test_recent_and_open_cases_are_kept(operator, settings):
    settings.RETAIN_CASES_DAYS = 30
    recent = closed_case(operator, "recent")
    parked = factories.new_case(operator, title="parked long ago")
    from apps.cases.services import case_park

    case_park(case_id=parked.pk, actor="olga", reason="waiting")
    OpsCase.objects.filter(pk=parked.pk).update(updated_at=LONG_AGO)
    run_retention()
    assert OpsCase.objects.filter(pk__in=[recent.pk, parked.pk]).count() == 2
    assert not CaseArchive.objects.exists()


@pytest.mark.django_db
def test_delivered_events_and_old_inbox_rows_go_in_batches(operator, settings):
    settings.RETAIN_EVENTS_DAYS, settings.RETAIN_INBOX_DAYS, settings.RETAIN_BATCH = 7, 14, 3
    for i in range(10):
        case = factories.new_case(operator, title=f"c{i}")
        # The Analyst's command is applied through the inbox (a creation has no subscriber).
        case_transition(case_id=case.pk, event="start_analysis", actor="olga")
    factories.deliver_outbox()
    total = Outbox.objects.count()
    old = list(Outbox.objects.order_by("seq").values_list("seq", flat=True)[:7])
    Outbox.objects.filter(seq__in=old).update(delivered_at=LONG_AGO)
    undelivered = Outbox.objects.filter(seq=old[0]).update(delivered_at=None)
    Inbox.objects.update(processed_at=LONG_AGO)
    done = run_retention()
    assert done["outbox"] == 6
    assert Outbox.objects.count() == total - 6
    assert Outbox.objects.filter(seq=old[0]).exists() and undelivered == 1
    assert done["inbox"] > 0 and not Inbox.objects.exists()


@pytest.mark.django_db
def test_resolved_findings_past_retention_go_and_firing_ones_stay(settings):
    settings.RETAIN_FINDINGS_DAYS = 30
    common = {
        "source": "rule",
        "kind": "deviation",
        "service": "checkout",
        "environment": "prod",
        "window_start": LONG_AGO,
        "window_end": LONG_AGO,
    }
    AnalysisFinding.objects.create(
        fingerprint="a", status="resolved", resolved_at=LONG_AGO, **common
    )
    AnalysisFinding.objects.create(fingerprint="b", status="firing", **common)
    assert run_retention()["findings"] == 1
    assert list(AnalysisFinding.objects.values_list("fingerprint", flat=True)) == ["b"]


@pytest.mark.django_db
def test_old_step_logs_are_removed_and_recent_ones_kept(settings, tmp_path):
    settings.EXEC_LOG_DIR, settings.RETAIN_STEP_LOGS_DAYS = str(tmp_path), 30
    for name, age_days in (("old-run", 60), ("new-run", 1)):
        (tmp_path / name).mkdir()
        log = tmp_path / name / "1.stdout.log"
        log.write_text("out")
        stamp = time.time() - age_days * 86400
        os.utime(log, (stamp, stamp))
    assert run_retention()["step-logs"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["new-run"]


@pytest.mark.django_db(transaction=True)
def test_retention_runs_while_the_loop_keeps_going(operator, settings, worker):
    """Old rows go in small batches while a real worker moves new cases along."""
    settings.RETAIN_EVENTS_DAYS, settings.RETAIN_BATCH = 7, 50
    for i in range(300):
        Outbox.objects.create(type="evt.test.old.v1", subject="x", data={}, delivered_at=LONG_AGO)
    stop = threading.Event()
    removed = []

    def sweep():
        while not stop.is_set():
            removed.append(run_retention()["outbox"])
        from django.db import connection

        connection.close()

    thread = threading.Thread(target=sweep)
    thread.start()
    try:
        cases = [factories.new_case(operator, title=f"live {i}") for i in range(5)]
        from apps.cases.services import case_transition

        for case in cases:
            case_transition(case_id=case.pk, event="start_analysis", actor="olga")
        from tests import support

        support.wait_for(
            support.swept(
                lambda: (
                    OpsCase.objects.filter(pk__in=[c.pk for c in cases], state=wf.PLANNING).count()
                    == 5
                )
            ),
            timeout=60,
            what="the live cases to reach PLANNING",
        )
    finally:
        stop.set()
        thread.join()
    assert sum(removed) == 300
    assert not Outbox.objects.filter(type="evt.test.old.v1").exists()
