"""/metrics adds up the counters of every process (web and workers) and reads the outbox."""

import pytest
from django.db import transaction
from prometheus_client.parser import text_string_to_metric_families

from apps.cases.models import OpsCase
from tests.probe.handlers import Probe
from tests.support import wait_for


def scrape(client) -> dict[tuple[str, tuple], float]:
    text = client.get("/metrics").content.decode()
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples, name, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.mark.django_db
def test_metrics_need_no_credentials_and_expose_the_seed_counters(
    client, api, new_case, django_capture_on_commit_callbacks
):
    before = scrape(client)
    case = new_case()
    with django_capture_on_commit_callbacks(execute=True):
        api.patch(f"/case/{case.pk}/transition", {"event": "start_analysis"}, format="json")
    api.patch(f"/case/{case.pk}/transition", {"event": "resume"}, format="json")
    api.patch(
        f"/case/{case.pk}/transition",
        {"event": "park", "reason": "x"},
        format="json",
        headers={"If-Match": '"1"'},
    )
    api.post(
        "/case/create",
        {"title": "t", "service": "s", "environment": "e"},
        format="json",
        headers={"Idempotency-Key": "m-1"},
    )
    api.post(
        "/case/create",
        {"title": "t", "service": "s", "environment": "e"},
        format="json",
        headers={"Idempotency-Key": "m-1"},
    )
    after = scrape(client)

    def delta(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    labels = {"event": "start_analysis", "from": "NEW", "to": "ANALYZING"}
    assert delta("case_transition_total", **labels) == 1
    assert delta("conflict_total", kind="illegal") == 1
    assert delta("conflict_total", kind="stale") == 1
    assert delta("idempotent_replay_total") == 1
    assert ("outbox_backlog", ()) in after
    assert ("outbox_publish_lag_seconds", ()) in after


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_a_transition_made_by_a_worker_is_counted_on_the_web_side(client, start_worker, new_case):
    start_worker(AIOPS_HANDLER_MAX_RETRIES="0")
    labels = {"event": "park", "from": "NEW", "to": "PARKED"}
    before = value(scrape(client), "case_transition_total", **labels)
    case = new_case()
    with transaction.atomic():
        Probe(case_id=str(case.pk), fail="probe.a").emit()
    wait_for(lambda: OpsCase.objects.get(pk=case.pk).state == "PARKED")
    wait_for(lambda: value(scrape(client), "case_transition_total", **labels) == before + 1)
