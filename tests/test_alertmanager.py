"""POST /ingest/alertmanager: alerts become findings, findings open exactly one case."""

import copy
import threading
from datetime import UTC, datetime, timedelta

import pytest
import requests

from apps.analyst.models import AnalysisFinding
from apps.cases import workflow as wf
from apps.cases.models import CaseTimeline, OpsCase, Outbox
from tests import support
from tests.conftest import make_user, token_for
from tests.factories import TEMPLATE_TARGETS, deliver_outbox, set_autopilot

STARTS = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def alert(status="firing", fingerprint="f00d", starts=STARTS, **labels):
    return {
        "status": status,
        "labels": {"alertname": "HighErrorRate", "service": "checkout", **labels},
        "annotations": {"summary": "checkout 5xx above 5 %", "runbook_url": "https://wiki/x"},
        "startsAt": starts.isoformat().replace("+00:00", "Z"),
        "endsAt": (
            (starts + timedelta(minutes=5)).isoformat().replace("+00:00", "Z")
            if status == "resolved"
            else "0001-01-01T00:00:00Z"
        ),
        "generatorURL": "http://prometheus:9090/graph?g0.expr=x",
        "fingerprint": fingerprint,
    }


def webhook(*alerts, status=None):
    return {
        "version": "4",
        "groupKey": '{}:{alertname="HighErrorRate"}',
        "truncatedAlerts": 0,
        "status": status or alerts[0]["status"],
        "receiver": "aiops",
        "groupLabels": {"alertname": "HighErrorRate"},
        "commonLabels": {"alertname": "HighErrorRate"},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "alerts": list(alerts),
    }


def post(client, body):
    return client.post("/ingest/alertmanager", body, format="json")


@pytest.fixture
def supervised(db):
    """prod without change windows or freezes and rejecting nothing on risk, so the case
    waits at the gate for a person whatever the hour the suite runs at."""
    set_autopilot(
        "prod",
        wf.AUTOPILOT_SUPERVISED,
        auto_approve_max=20,
        reject_min=101,
        four_eyes=True,
        targets=TEMPLATE_TARGETS,
    )


@pytest.mark.django_db
def test_a_firing_alert_opens_a_finding_and_a_case(ingest_api, supervised):
    response = post(ingest_api, webhook(alert()))
    assert response.status_code == 200, response.content
    assert response.json() == {"received": 1, "opened": 1, "resolved": 0, "unchanged": 0}
    finding = AnalysisFinding.objects.get()
    assert (finding.status, finding.service, finding.kind) == (
        "firing",
        "checkout",
        "HighErrorRate",
    )
    deliver_outbox()
    case = OpsCase.objects.get()
    assert case.labels["findings"] == [str(finding.id)]
    assert case.labels["correlation"] == "checkout/prod/HighErrorRate"
    # The loop started by itself: the case left NEW without anyone calling the API.
    assert case.state != wf.NEW
    create = CaseTimeline.objects.get(case=case, event="create")
    assert create.actor == "system:orchestrator"


@pytest.mark.django_db
def test_a_redelivered_webhook_changes_nothing(ingest_api, supervised):
    post(ingest_api, webhook(alert()))
    deliver_outbox()
    events_before = Outbox.objects.count()
    response = post(ingest_api, webhook(alert()))
    assert response.json() == {"received": 1, "opened": 0, "resolved": 0, "unchanged": 1}
    assert Outbox.objects.count() == events_before
    assert AnalysisFinding.objects.count() == 1


@pytest.mark.django_db
def test_a_resolved_alert_closes_a_case_that_changed_nothing(ingest_api, supervised):
    post(ingest_api, webhook(alert()))
    deliver_outbox()
    case = OpsCase.objects.get()
    assert case.state in wf.UNCHANGED_STATES
    response = post(ingest_api, webhook(alert(status="resolved")))
    assert response.json()["resolved"] == 1
    deliver_outbox()
    case = OpsCase.objects.get(pk=case.pk)
    assert case.state == wf.CLOSED
    assert AnalysisFinding.objects.get().status == "resolved"
    assert CaseTimeline.objects.filter(case=case, event="finding_resolved").count() == 1


@pytest.mark.django_db
def test_a_resolved_alert_leaves_a_case_that_already_changed_something(ingest_api, supervised):
    post(ingest_api, webhook(alert()))
    deliver_outbox()
    case = OpsCase.objects.get()
    OpsCase.objects.filter(pk=case.pk).update(state=wf.EXECUTING)  # as if a run had started
    post(ingest_api, webhook(alert(status="resolved")))
    deliver_outbox(skip={"cmd.exec.start.v1"})
    case = OpsCase.objects.get(pk=case.pk)
    assert case.state == wf.EXECUTING


@pytest.mark.django_db
def test_a_flapping_alert_is_one_case(ingest_api, supervised):
    for minute in range(0, 40, 10):  # fires, resolves, fires again… four episodes
        starts = STARTS + timedelta(minutes=minute)
        post(ingest_api, webhook(alert(starts=starts)))
        deliver_outbox()
        post(ingest_api, webhook(alert(status="resolved", starts=starts)))
        deliver_outbox()
    assert OpsCase.objects.count() == 1
    assert AnalysisFinding.objects.count() == 4
    case = OpsCase.objects.get()
    assert CaseTimeline.objects.filter(case=case, event="finding_suppressed").count() == 3


@pytest.mark.django_db
def test_two_alerts_of_one_group_join_one_case(ingest_api, supervised):
    post(ingest_api, webhook(alert(fingerprint="a1", pod="p1"), alert(fingerprint="a2", pod="p2")))
    deliver_outbox()
    case = OpsCase.objects.get()
    assert len(case.labels["findings"]) == 2
    assert CaseTimeline.objects.filter(case=case, event="finding_attached").count() == 1


@pytest.mark.django_db
def test_alerts_of_other_services_open_their_own_cases(ingest_api, supervised):
    post(ingest_api, webhook(alert(fingerprint="a1"), alert(fingerprint="b1", service="billing")))
    deliver_outbox()
    assert sorted(OpsCase.objects.values_list("service", flat=True)) == ["billing", "checkout"]


@pytest.fixture
def server(transactional_db):
    """gunicorn with 100 request threads: every delivery is served at the same time."""
    port = support.free_port()
    process = support.gunicorn(
        port, workers=2, threads=50, AIOPS_THROTTLE_INGEST="100000/s"
    ).start()
    url = f"http://127.0.0.1:{port}"
    try:
        support.wait_for(lambda: _up(url), what="gunicorn to answer")
        yield url
    finally:
        process.stop()


def _up(url: str) -> bool:
    try:
        return requests.get(f"{url}/healthz", timeout=5).ok
    except requests.RequestException:
        return False


@pytest.mark.django_db(transaction=True)
def test_a_hundred_concurrent_duplicate_deliveries_open_one_case(supervised, server):
    """Over real HTTP, from 100 threads at once, as a retrying Alertmanager cluster might."""
    headers = {"Authorization": f"Token {token_for(make_user('alertmanager', 'ingest'))}"}
    body = webhook(alert())
    statuses, opened, lock = [], [], threading.Lock()
    barrier = threading.Barrier(100)

    def deliver():
        barrier.wait()
        try:
            response = requests.post(
                f"{server}/ingest/alertmanager", json=body, headers=headers, timeout=60
            )
        except Exception as exc:
            with lock:
                statuses.append(repr(exc))
            return
        with lock:
            statuses.append(response.status_code)
            opened.append(response.json().get("opened"))

    threads = [threading.Thread(target=deliver) for _ in range(100)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * 100
    assert sorted(opened) == [0] * 99 + [1]
    deliver_outbox()
    assert AnalysisFinding.objects.count() == 1
    assert OpsCase.objects.count() == 1


BAD = {
    "not an object": [],
    "wrong version": {**webhook(alert()), "version": "3"},
    "no alerts": {**webhook(alert()), "alerts": []},
    "unknown group field": {**webhook(alert()), "extra": 1},
}


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(BAD))
def test_a_malformed_webhook_is_refused_with_nothing_written(ingest_api, name):
    response = post(ingest_api, BAD[name])
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/problem+json")
    assert AnalysisFinding.objects.count() == 0
    assert Outbox.objects.count() == 0


@pytest.mark.django_db
def test_one_bad_alert_rejects_the_group_and_names_it(ingest_api):
    bad = alert(fingerprint="b")
    bad["labels"] = {"alertname": "X", "service": "checkout", "n": 5}
    no_service = alert(fingerprint="c")
    no_service["labels"] = {"alertname": "X"}
    bad_time = alert(fingerprint="d")
    bad_time["startsAt"] = "yesterday"
    response = post(ingest_api, webhook(alert(), bad, no_service, bad_time))
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert {(e["index"], e["field"]) for e in errors} == {
        (1, "labels.n"),
        (2, "labels"),
        (3, "startsAt"),
    }
    assert AnalysisFinding.objects.count() == 0


@pytest.mark.django_db
def test_too_many_alerts_are_refused(ingest_api, settings):
    settings.ALERTS_MAX = 2
    alerts = [alert(fingerprint=f"x{i}") for i in range(3)]
    response = post(ingest_api, webhook(*alerts))
    assert response.status_code == 400
    assert "At most 2" in response.json()["errors"][0]["message"]


@pytest.mark.django_db
def test_an_unknown_service_is_refused_when_services_are_listed(ingest_api, settings):
    settings.KNOWN_SERVICES = frozenset({"billing"})
    response = post(ingest_api, webhook(alert()))
    assert response.status_code == 400
    assert response.json()["errors"][0]["message"] == "Unknown service 'checkout'."


@pytest.mark.django_db
def test_an_operator_may_not_post_alerts(api):
    assert post(api, webhook(alert())).status_code == 403
    assert AnalysisFinding.objects.count() == 0


def test_an_alert_without_fingerprint_gets_one_from_its_labels():
    from apps.analyst.alertmanager import Mapping, parse_webhook

    raw = copy.deepcopy(webhook(alert()))
    del raw["alerts"][0]["fingerprint"]
    alerts, errors = parse_webhook(raw, mapping=Mapping(), max_alerts=10)
    assert errors == []
    assert len(alerts[0].fingerprint) == 16


@pytest.mark.django_db
@pytest.mark.parametrize(
    "field, value",
    [("externalURL", {}), ("status", "pending"), ("truncatedAlerts", "0"), ("commonLabels", [])],
)
def test_a_mistyped_group_field_is_refused(ingest_api, field, value):
    response = post(ingest_api, {**webhook(alert()), field: value})
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == field
    assert AnalysisFinding.objects.count() == 0
