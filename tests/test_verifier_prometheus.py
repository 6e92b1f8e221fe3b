"""The Verifier over a real Prometheus server (skipped when the binary is not installed).

A tiny exporter replays ten historical minutes, every sample stamped with its minute
(Prometheus honours exposition timestamps), so the server holds minutes of history after
seconds. The fixture moves the exporter to the next minute only once Prometheus has stored
the current one, so a slow or failed scrape loses nothing. Minutes M0..M2 are the baseline
before the change; the 3-minute window is M7..M9."""

from __future__ import annotations

import os
import shutil
import socket
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
from django.utils import timezone

from apps.cases.models import CaseTimeline
from apps.verifier import evaluate, services
from apps.verifier.models import VerifyCheckpoint
from tests import support
from tests.conftest import drive_to_verifying, sample_plan

PROMETHEUS = shutil.which("prometheus") or (
    "/usr/bin/prometheus" if os.path.exists("/usr/bin/prometheus") else None
)
pytestmark = pytest.mark.skipif(
    PROMETHEUS is None,
    reason="no prometheus binary (CI installs Debian's package: apt-get install prometheus)",
)

MINUTES, WINDOW_S = 10, 180
# Set when the server starts (see place_in_time): minute M0, the change, the evaluation time.
ANCHOR = CHANGE = NOW = timezone.now()
SERIES = {
    "lat_ok_ms": [200] * MINUTES,
    "lat_bad_ms": [200] * 7 + [412] * 3,
    "lat_spike_ms": [200] * 7 + [200, 900, 200],
    "lat_base_ms": [200] * 7 + [260] * 3,
}


def exposition(minute: int) -> str:
    stamp = int((ANCHOR + timedelta(minutes=minute, seconds=30)).timestamp() * 1000)
    return "".join(
        f'{name}{{service="checkout"}} {values[minute]} {stamp}\n'
        for name, values in SERIES.items()
    )


class Replay(BaseHTTPRequestHandler):
    """Serves the samples of minute `Replay.minute` (set by the fixture) on every scrape."""

    minute = 0

    def do_GET(self):
        body = exposition(Replay.minute).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def place_in_time() -> None:
    global ANCHOR, CHANGE, NOW
    ANCHOR = timezone.now().replace(second=0, microsecond=0) - timedelta(minutes=MINUTES + 2)
    CHANGE = ANCHOR + timedelta(minutes=3, seconds=30)  # baseline window: M0..M2
    NOW = ANCHOR + timedelta(minutes=MINUTES, seconds=30)  # window: M7..M9


@pytest.fixture(scope="module")
def prometheus_url(tmp_path_factory):
    place_in_time()
    exporter = ThreadingHTTPServer(("127.0.0.1", 0), Replay)
    threading.Thread(target=exporter.serve_forever, daemon=True).start()
    root: Path = tmp_path_factory.mktemp("prometheus")
    config = root / "prometheus.yml"
    config.write_text(
        "global: {scrape_interval: 1s, scrape_timeout: 1s}\n"
        "scrape_configs:\n"
        "  - job_name: replay\n"
        "    honor_timestamps: true\n"
        f"    static_configs: [{{targets: ['127.0.0.1:{exporter.server_address[1]}']}}]\n"
    )
    port = free_port()
    server = support.Process(
        [
            PROMETHEUS,
            f"--config.file={config}",
            f"--storage.tsdb.path={root / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        env=dict(os.environ),
        ready_marker="Server is ready to receive web requests",
    ).start()
    url = f"http://127.0.0.1:{port}"
    try:
        for minute in range(MINUTES):
            Replay.minute = minute
            support.wait_for(
                lambda n=minute + 1: _stored_minutes(url, "lat_ok_ms") == n,
                timeout=60,
                what=f"prometheus to store minute {minute}",
            )
        assert all(_stored_minutes(url, name) == MINUTES for name in SERIES)
        yield url
    finally:
        server.stop()
        exporter.shutdown()


def _stored_minutes(url: str, name: str) -> int:
    query = f"count_over_time({name}[1h])"
    try:
        response = requests.get(f"{url}/api/v1/query", params={"query": query}, timeout=5)
    except requests.ConnectionError:
        return 0
    result = response.json()["data"]["result"] if response.ok else []
    return int(result[0]["value"][1]) if result else 0


@pytest.fixture
def on_prometheus(settings, prometheus_url):
    settings.PROMETHEUS_URL = prometheus_url
    return prometheus_url


def check(promql: str, **overrides) -> dict:
    fields = {
        "name": "p95-latency",
        "promql": promql,
        "aggregate": "p95",
        "operator": "<",
        "threshold": 300,
        "for_minutes": 1,
    }
    fields.update(overrides)
    return fields


def judge(*checks, window_s=WINDOW_S) -> tuple[list[evaluate.Verdict], bool, str]:
    spec = services.VerifySpec(delay_s=0, window_s=window_s, checks=list(checks))
    evaluated = services.evaluate_checks(spec, service="checkout", now=NOW, change_time=CHANGE)
    verdicts = [e.verdict for e in evaluated]
    assert {e.source for e in evaluated} == {"prometheus"}
    passed, summary = evaluate.decide(verdicts)
    return verdicts, passed, summary


def test_healthy_series_passes(on_prometheus):
    [verdict], passed, _ = judge(check("lat_ok_ms"))
    assert passed
    assert verdict.result == "pass"
    assert len(verdict.minutes) == 3
    assert verdict.sentence == "p95 latency 200 ms < 300 ms over 3 minutes"


def test_breach_fails_with_a_readable_sentence(on_prometheus):
    [verdict], passed, summary = judge(check("lat_bad_ms", for_minutes=3))
    assert not passed
    assert verdict.sentence == "p95 latency 412 ms > 300 ms for 3 of 3 minutes"
    assert "check 'p95-latency' fail" in summary


def test_no_data_is_inconclusive(on_prometheus):
    [verdict], passed, summary = judge(check("no_such_metric_ms"))
    assert not passed
    assert verdict.result == "inconclusive"
    assert "no data for no_such_metric_ms" in verdict.sentence
    assert summary.startswith("Verification inconclusive")


def test_one_bad_minute_does_not_fail_a_three_minute_check(on_prometheus):
    [verdict], passed, _ = judge(check("lat_spike_ms", aggregate="max", for_minutes=3))
    assert passed
    assert verdict.observed == 900
    assert verdict.breached_minutes == 1
    assert "under the 3 consecutive minutes needed to fail" in verdict.sentence


def test_baseline_comparison_against_the_window_before_the_change(on_prometheus):
    [verdict], passed, _ = judge(
        check("lat_base_ms", threshold=1000, baseline={"max_increase_pct": 20})
    )
    assert not passed
    assert verdict.baseline == 200
    assert "+30% vs baseline 200 ms (max +20%)" in verdict.sentence


def test_dry_run_fails_without_deciding(on_prometheus):
    strict = check("lat_ok_ms", name="strict", threshold=100, dry_run=True)
    verdicts, passed, summary = judge(check("lat_ok_ms"), strict)
    assert passed
    assert verdicts[1].result == "fail"
    assert verdicts[1].sentence.startswith("[dry run] strict (p95) 200 ms > 100 ms")
    assert "dry run, not deciding" in summary


def test_a_metric_check_reads_prometheus_when_configured(on_prometheus, settings):
    settings.VERIFY_METRIC_SOURCE = "prometheus"
    metric_check = {k: v for k, v in check("").items() if k != "promql"}
    [verdict], passed, _ = judge({**metric_check, "metric": "lat_bad_ms"})
    assert not passed
    assert verdict.sentence == "p95 latency 412 ms > 300 ms for 3 of 3 minutes"


def test_bad_promql_is_inconclusive_with_prometheus_error(on_prometheus):
    [verdict], passed, _ = judge(check("rate(lat_ok_ms[1m]"))
    assert not passed
    assert verdict.result == "inconclusive"
    assert "prometheus: bad_data" in verdict.sentence


def test_unreachable_prometheus_is_inconclusive(settings):
    settings.PROMETHEUS_URL = f"http://127.0.0.1:{free_port()}"
    [verdict], passed, _ = judge(check("lat_ok_ms"))
    assert not passed
    assert "prometheus unreachable" in verdict.sentence


@pytest.mark.django_db
def test_verification_writes_checkpoints_from_prometheus(on_prometheus, new_case):
    document = sample_plan(
        verify={"delay_s": 0, "window_s": WINDOW_S, "checks": [check("lat_bad_ms", for_minutes=3)]}
    )
    case = drive_to_verifying(new_case(), document=document)
    result = services.verify_case(case_id=str(case.pk), now=NOW)
    assert result["passed"] is False
    checkpoint = VerifyCheckpoint.objects.get(case=case)
    assert checkpoint.source == "prometheus"
    assert checkpoint.query == "lat_bad_ms"
    assert checkpoint.observed == 412
    assert checkpoint.minutes_breached == 3
    assert CaseTimeline.objects.filter(case=case, to_state="VERIFYING").exists()


def test_prometheus_answers_query_range(on_prometheus):
    response = requests.get(f"{on_prometheus}/api/v1/query", params={"query": "up"}, timeout=5)
    assert response.json()["status"] == "success"
