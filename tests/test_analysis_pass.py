"""The analysis pass over metric_1m: rules as DB rows, episodes, the watermark, one pass at a
time, and POST /analyze/run."""

import random
import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from apps.analyst.models import AnalysisFinding, AnalysisRule, ScanPass
from apps.analyst.scan import run_pass
from apps.analyst.services import rules_seed_from_file
from apps.cases import workflow as wf
from apps.cases.models import OpsCase
from apps.sensor.points import Point
from apps.sensor.services import metrics_upsert
from tests.factories import TEMPLATE_TARGETS, deliver_outbox, set_autopilot

NOW = timezone.now().replace(second=0, microsecond=0)


def feed(values, *, end=NOW, service="checkout", metric="http_p95_ms", labels=None):
    """One value per minute, the last at `end`."""
    start = end - timedelta(minutes=len(values) - 1)
    metrics_upsert(
        points=[
            Point(start + timedelta(minutes=i), service, metric, labels or {}, float(v))
            for i, v in enumerate(values)
            if v is not None
        ]
    )


def noisy(n, level=100.0, spread=3.0, seed=7):
    rng = random.Random(seed)
    return [level + rng.uniform(-spread, spread) for _ in range(n)]


@pytest.fixture
def seeded(db):
    rules_seed_from_file()
    set_autopilot(
        "prod",
        wf.AUTOPILOT_SUPERVISED,
        auto_approve_max=20,
        reject_min=101,
        four_eyes=True,
        targets=TEMPLATE_TARGETS,
    )


@pytest.mark.django_db
def test_the_seed_file_becomes_rule_rows_once(seeded):
    count = AnalysisRule.objects.count()
    assert count >= 6
    AnalysisRule.objects.filter(name="latency-ceiling").update(enabled=False)
    assert rules_seed_from_file() == (0, count)
    assert not AnalysisRule.objects.get(name="latency-ceiling").enabled  # admin edit kept


@pytest.mark.django_db
def test_an_injected_latency_anomaly_opens_a_finding_and_a_case(seeded):
    feed([*noisy(130), 400, 420, 450])
    result = run_pass(at=NOW, service="checkout")
    kinds = {(f["rule"], f["kind"]) for f in result.opened}
    assert ("latency-deviation", "deviation") in kinds
    finding = AnalysisFinding.objects.get(rule__name="latency-deviation")
    assert finding.observed == 450
    assert 95 < finding.baseline < 105
    assert "robust z" in finding.summary
    deliver_outbox()
    case = OpsCase.objects.get()  # both deviation rules' findings: one group, one case
    assert case.service == "checkout"
    assert set(case.labels["findings"]) == {
        str(f.id) for f in AnalysisFinding.objects.filter(kind="deviation")
    }
    assert case.state != wf.NEW


@pytest.mark.django_db
def test_a_flat_series_with_a_wiggle_opens_nothing(seeded):
    feed([100.0] * 130 + [100.5, 100.4, 100.6])  # MAD 0: the scale floor keeps z finite
    result = run_pass(at=NOW, service="checkout")
    assert result.opened == []
    assert result.evaluations > 0


@pytest.mark.django_db
def test_a_repeated_pass_opens_no_second_finding_for_one_episode(seeded):
    feed([*noisy(130), 400, 420, 450])
    run_pass(at=NOW, service="checkout")
    feed([460], end=NOW + timedelta(minutes=1))
    again = run_pass(at=NOW + timedelta(minutes=1), service="checkout")
    assert again.opened == []
    assert AnalysisFinding.objects.filter(rule__name="latency-deviation").count() == 1


@pytest.mark.django_db
def test_a_finding_resolves_after_its_quiet_passes(seeded):
    rule = AnalysisRule.objects.get(name="latency-deviation")
    # One-minute judgement only: the 20-minute mean test would (rightly) keep the episode
    # firing while the bad minutes are still in its mean.
    rule.params = {**rule.params, "clear_after": 2, "mean_minutes": 1}
    rule.save()
    feed([*noisy(130), 400, 420, 450])
    run_pass(at=NOW, rule="latency-deviation")
    for minute in (1, 2):
        feed([100], end=NOW + timedelta(minutes=minute))
        result = run_pass(at=NOW + timedelta(minutes=minute), rule="latency-deviation")
    assert [f["rule"] for f in result.resolved] == ["latency-deviation"]
    assert AnalysisFinding.objects.get(rule=rule).status == "resolved"


@pytest.mark.django_db
def test_too_little_history_opens_nothing(seeded):
    feed([100, 101, 99, 500, 600])
    assert run_pass(at=NOW, rule="latency-deviation").opened == []


@pytest.mark.django_db
def test_the_periodic_pass_reads_only_series_written_since_the_previous_one(seeded):
    feed(noisy(130), service="checkout")
    feed(noisy(130, seed=3), service="billing")
    first = run_pass()
    assert first.series == 2
    feed([101], service="billing", end=NOW + timedelta(minutes=1))
    second = run_pass()
    assert second.series == 1
    assert ScanPass.objects.get().series == 1


@pytest.mark.django_db
def test_an_error_spike_needs_its_minimum_volume(seeded):
    metric, volume = "http_errors_per_minute", "http_requests_per_minute"
    feed([1] * 10, metric=metric)
    feed([10] * 10, metric=volume)  # 10 % errors, but 10 requests a minute
    assert run_pass(at=NOW, rule="http-error-rate").opened == []
    feed([30] * 10, metric=metric)
    feed([200] * 10, metric=volume)  # 15 % of 200 a minute
    opened = run_pass(at=NOW, rule="http-error-rate").opened
    assert [f["kind"] for f in opened] == ["error_rate"]


@pytest.mark.django_db(transaction=True)
def test_two_passes_never_run_at_once(seeded):
    """While one pass holds its lock, the periodic pass skips and says why."""
    holding, release = threading.Event(), threading.Event()

    def hold():
        from django.db import transaction

        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended('analysis-pass', 0))")
            holding.set()
            release.wait(30)
        connection.close()

    thread = threading.Thread(target=hold)
    thread.start()
    holding.wait(30)
    try:
        assert run_pass().skipped == "another analysis pass is running"
    finally:
        release.set()
        thread.join()
    assert run_pass().skipped == ""


@pytest.mark.django_db
def test_analyze_run_returns_the_findings(api, seeded):
    feed([*noisy(130), 400, 420, 450])
    response = api.post(
        "/analyze/run", {"service": "checkout", "at": NOW.isoformat()}, format="json"
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert {f["rule"] for f in body["opened"]} >= {"latency-deviation"}
    assert body["series"] == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body, field",
    [
        ({"rule": "no-such-rule"}, "rule"),
        ({"at": "not a time"}, "at"),
        ({"service": "x" * 101}, "service"),
    ],
)
def test_analyze_run_refuses_bad_parameters(api, seeded, body, field):
    response = api.post("/analyze/run", body, format="json")
    assert response.status_code == 400
    assert field in response.json()["errors"]


@pytest.mark.django_db
def test_a_viewer_may_not_run_a_pass(viewer_api, seeded):
    assert viewer_api.post("/analyze/run", {}, format="json").status_code == 403


@pytest.mark.django_db
def test_findings_are_listed_newest_first(viewer_api, seeded):
    feed([*noisy(130), 400, 420, 450])
    run_pass(at=NOW, service="checkout")
    response = viewer_api.get("/analyze/findings?status=firing")
    assert response.status_code == 200
    assert response.json()["count"] >= 1


def patterns(service, pattern_id, counts, *, last, template="GET /cart <*> ms"):
    """One count per 5-minute bucket, the last at bucket `last`."""
    from apps.sensor.patterns import PatternCount
    from apps.sensor.services import log_patterns_add

    log_patterns_add(
        counts=[
            PatternCount(
                last - timedelta(minutes=5 * (len(counts) - 1 - i)),
                service,
                pattern_id,
                template,
                c,
            )
            for i, c in enumerate(counts)
            if c
        ]
    )


LAST_BUCKET = NOW.replace(minute=NOW.minute - NOW.minute % 5) - timedelta(minutes=5)
AT = LAST_BUCKET + timedelta(minutes=4)  # the bucket's last minute: it is complete


@pytest.mark.django_db
def test_a_new_log_pattern_after_a_day_of_history_is_a_finding(seeded):
    patterns("checkout", "drain-1", [3] * 300, last=LAST_BUCKET)
    patterns("checkout", "drain-9", [7], last=LAST_BUCKET, template="panic: nil map <*>")
    opened = run_pass(at=AT, rule="log-new-pattern").opened
    assert [(f["kind"], f["metric"]) for f in opened] == [("log_new", "drain-9")]
    assert "panic: nil map" in opened[0]["summary"]


@pytest.mark.django_db
def test_a_pattern_of_a_service_with_little_history_is_not_called_new(seeded):
    patterns("checkout", "drain-1", [3] * 10, last=LAST_BUCKET)
    patterns("checkout", "drain-9", [7], last=LAST_BUCKET)
    assert run_pass(at=AT, rule="log-new-pattern").opened == []


@pytest.mark.django_db
def test_a_surging_log_pattern_is_a_finding(seeded):
    patterns("checkout", "drain-2", [*([2] * 20), 60], last=LAST_BUCKET)
    opened = run_pass(at=AT, rule="log-surge").opened
    assert [(f["kind"], f["metric"]) for f in opened] == [("log_surge", "drain-2")]


@pytest.mark.django_db
def test_a_log_finding_resolves_when_its_pattern_goes_quiet(seeded):
    rule = AnalysisRule.objects.get(name="log-surge")
    rule.params = {**rule.params, "clear_after": 2}
    rule.save()
    patterns("checkout", "drain-2", [*([2] * 20), 60], last=LAST_BUCKET)
    run_pass(at=AT, rule="log-surge")
    run_pass(at=AT + timedelta(minutes=5), rule="log-surge")
    resolved = run_pass(at=AT + timedelta(minutes=10), rule="log-surge").resolved
    assert [f["metric"] for f in resolved] == ["drain-2"]


@pytest.mark.django_db
def test_a_finding_links_its_series_as_evidence_of_its_case(seeded, viewer_api):
    feed([*noisy(130), 400, 420, 450], labels={"pod": "checkout-1"})
    run_pass(at=NOW, rule="latency-deviation")
    deliver_outbox()
    case = OpsCase.objects.get()
    results = viewer_api.get(f"/case/{case.pk}/evidence").json()["results"]
    assert [r["target_kind"] for r in results] == ["finding"]
    locator = results[0]["locator"]
    assert locator["system"] == "prometheus"
    assert locator["query"] == 'http_p95_ms{service="checkout", pod="checkout-1"}'
