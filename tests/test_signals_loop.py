"""Signals drive the loop with nobody calling the API: real Celery workers, real gunicorn,
Debian's Alertmanager, the kubernetes adapter against a fake API server (the wire).

- metrics with an injected anomaly → finding → case → plan → gate → exec → verify → CLOSED;
- Alertmanager posting firing: the same; resolved before anything changed: the case closes.
"""

import shutil
import textwrap
from datetime import timedelta

import pytest
import requests
from django.db.models import F
from django.utils import timezone

from apps.analyst.models import AnalysisFinding, AnalysisRule
from apps.analyst.services import rules_seed_from_file
from apps.cases.models import CaseTimeline, OpsCase
from apps.executor.models import ExecRun
from apps.gate import services as gate_services
from apps.sensor.models import EvidenceLink
from apps.sensor.points import Point
from apps.sensor.services import metrics_upsert
from tests import support
from tests.conftest import make_user, token_for
from tests.fakes.kube_api import FakeKubeAPI

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

TARGETS = {"actions": ["echo.*", "kubernetes.*"], "kubernetes_namespaces": ["staging", "prod"]}
POLICY = {
    "approval_ttl_minutes": 240,
    "environments": {
        "staging": {
            "auto_approve_max": 70,
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
ALERTMANAGER = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")


@pytest.fixture
def kube(tmp_path):
    fake = FakeKubeAPI().start()
    for namespace in ("staging", "prod"):
        fake.add_deployment(namespace, "checkout", "shop/checkout:1.0", replicas=2)
    fake.kubeconfig = fake.write_kubeconfig(tmp_path / "kubeconfig")
    yield fake
    fake.stop()


@pytest.fixture
def platform(transactional_db, kube):
    """Workers as `make run` starts them (verify delay 0), and gunicorn for the webhooks."""
    gate_services.policy_save(document=POLICY, cedar="", actor="test")
    rules_seed_from_file()
    support.purge_broker()
    env = {
        "KUBECONFIG": str(kube.kubeconfig),
        "AIOPS_EXEC_K8S_NAMESPACES": "staging,prod",
        "AIOPS_VERIFY_DELAY_S": "0",
    }
    port = support.free_port()
    processes = [
        support.celery_worker(queues="celery", concurrency=2, **env).start(),
        support.celery_worker(queues="executor", concurrency=1, **env).start(),
        support.gunicorn(port, workers=1, threads=4, **env).start(),
    ]
    url = f"http://127.0.0.1:{port}"
    support.wait_for(lambda: _up(url), what="gunicorn to answer")
    yield url
    for process in processes:
        process.stop()
    support.purge_broker()


def _up(url: str) -> bool:
    try:
        return requests.get(f"{url}/healthz", timeout=5).ok
    except requests.RequestException:
        return False


def series(values, *, end, metric="http_p95_ms", service="checkout"):
    metrics_upsert(
        points=[
            Point(end - timedelta(minutes=len(values) - 1 - i), service, metric, {}, v)
            for i, v in enumerate(values)
        ]
    )


def settled(case_id, *states, timeout: float = 120) -> OpsCase:
    return support.wait_for(
        support.swept(lambda: OpsCase.objects.filter(pk=case_id, state__in=states).first()),
        timeout=timeout,
        what=f"case {case_id} to reach {states}",
    )


def moves(case_id) -> list[tuple[str, str]]:
    rows = CaseTimeline.objects.filter(case_id=case_id).exclude(from_state=F("to_state"))
    return list(rows.order_by("id").values_list("event", "actor"))


def test_an_injected_latency_anomaly_runs_the_loop_to_closed(platform, kube):
    AnalysisRule.objects.update(environment="staging")
    now = timezone.now().replace(second=0, microsecond=0)
    anomaly = now - timedelta(minutes=10)
    # Two healthy hours, three bad minutes, then healthy again (the restart helped).
    series([180.0 + (i % 7) for i in range(130)], end=anomaly - timedelta(minutes=3))
    series([900.0, 950.0, 990.0], end=anomaly)
    series([180.0] * 10, end=now)
    series([0.01] * 140, end=now, metric="http_error_rate")
    operator = make_user("olga", "operator")
    response = requests.post(
        f"{platform}/analyze/run",
        json={"service": "checkout", "at": anomaly.isoformat()},
        headers={"Authorization": f"Token {token_for(operator)}"},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    assert "latency-deviation" in {f["rule"] for f in response.json()["opened"]}

    case = support.wait_for(
        support.swept(lambda: OpsCase.objects.filter(service="checkout").first()),
        what="the Orchestrator to open a case",
    )
    case = settled(case.pk, "CLOSED", "PARKED")
    assert case.state == "CLOSED", list(
        CaseTimeline.objects.filter(case=case).values_list("event", "reason")
    )
    assert [event for event, _ in moves(case.pk)] == [
        "create",
        "start_analysis",
        "analysis_done",
        "plan_ready",
        "gate_approved",
        "exec_done",
        "verify_pass",
    ]
    assert {actor for _, actor in moves(case.pk)} <= {
        "system:orchestrator",
        "system:gate",
    }
    finding_ids = {str(f.id) for f in AnalysisFinding.objects.filter(service="checkout")}
    assert set(case.labels["findings"]) == finding_ids
    assert ExecRun.objects.get(case=case).status == ExecRun.SUCCEEDED
    # The evidence chain: case → its findings → the series they judged, as a locator.
    response = requests.get(
        f"{platform}/case/{case.pk}/evidence",
        headers={"Authorization": f"Token {token_for(operator)}"},
        timeout=30,
    )
    chain = response.json()["results"]
    assert {(r["target_kind"], r["target_id"]) for r in chain} <= {
        ("finding", i) for i in finding_ids
    }
    assert 'http_p95_ms{service="checkout"}' in {r["locator"]["query"] for r in chain}
    assert kube.deployment("staging", "checkout")["spec"]["template"]["metadata"].get(
        "annotations"
    ), "the restart reached the (fake) API server"


@pytest.fixture
def alertmanager(platform, tmp_path):
    if not ALERTMANAGER:
        pytest.skip("Debian's prometheus-alertmanager is not installed (.ci/run installs it)")
    token = token_for(make_user("alertmanager", "ingest"))
    port = support.free_port()
    config = tmp_path / "alertmanager.yml"
    config.write_text(
        textwrap.dedent(
            f"""
            route:
              receiver: aiops
              group_by: [alertname, service]
              group_wait: 1s
              group_interval: 1s
              repeat_interval: 4h
            receivers:
              - name: aiops
                webhook_configs:
                  - url: {platform}/ingest/alertmanager
                    send_resolved: true
                    http_config:
                      authorization: {{type: Token, credentials: {token}}}
            """
        )
    )
    process = support.Process(
        [
            ALERTMANAGER,
            f"--config.file={config}",
            f"--storage.path={tmp_path / 'am-data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
        ],
        support.child_env(),
        ready_marker="Listening",
    ).start()
    url = f"http://127.0.0.1:{port}"
    yield url
    process.stop()


def send_alert(alertmanager: str, *, environment: str, resolved: bool = False, starts=None):
    now = timezone.now()
    alert = {
        "labels": {
            "alertname": "CheckoutLatencyHigh",
            "service": "checkout",
            "environment": environment,
            "severity": "critical",
            "remedy": "restart",
        },
        "annotations": {"summary": "checkout p95 above 800 ms"},
        "startsAt": (starts or now - timedelta(minutes=1)).isoformat(),
        "generatorURL": "http://prometheus:9090/graph?g0.expr=checkout_p95",
    }
    if resolved:
        alert["endsAt"] = now.isoformat()
    response = requests.post(f"{alertmanager}/api/v2/alerts", json=[alert], timeout=10)
    assert response.status_code == 200, response.text


def test_a_firing_alert_from_alertmanager_runs_the_loop_to_closed(platform, alertmanager):
    series([180.0] * 10, end=timezone.now().replace(second=0, microsecond=0))
    series(
        [0.01] * 10, end=timezone.now().replace(second=0, microsecond=0), metric="http_error_rate"
    )
    send_alert(alertmanager, environment="staging")
    case = support.wait_for(
        support.swept(lambda: OpsCase.objects.filter(service="checkout").first()),
        timeout=60,
        what="Alertmanager's webhook to open a case",
    )
    case = settled(case.pk, "CLOSED", "PARKED")
    assert case.state == "CLOSED", list(
        CaseTimeline.objects.filter(case=case).values_list("event", "reason")
    )
    finding = AnalysisFinding.objects.get()
    assert (finding.source, finding.kind, finding.environment) == (
        "alertmanager",
        "CheckoutLatencyHigh",
        "staging",
    )
    assert case.labels["finding"]["remedy"] == "restart"
    links = EvidenceLink.objects.filter(target_kind="finding", target_id=str(finding.pk))
    assert {link.locator.url for link in links} == {
        "http://prometheus:9090/graph?g0.expr=checkout_p95"
    }


def test_an_alert_resolved_before_any_change_closes_its_case(platform, alertmanager):
    starts = timezone.now() - timedelta(minutes=1)
    send_alert(alertmanager, environment="prod", starts=starts)
    case = support.wait_for(
        support.swept(lambda: OpsCase.objects.filter(service="checkout").first()),
        timeout=60,
        what="Alertmanager's webhook to open a case",
    )
    settled(case.pk, "WAIT_GATE")  # supervised prod: a person would approve
    send_alert(alertmanager, environment="prod", starts=starts, resolved=True)
    case = settled(case.pk, "CLOSED", timeout=60)
    assert AnalysisFinding.objects.get().status == "resolved"
    closing = CaseTimeline.objects.filter(case=case, event="close").get()
    assert closing.actor == "system:orchestrator"
    assert "resolved before any change" in closing.reason
    assert OpsCase.objects.count() == 1
