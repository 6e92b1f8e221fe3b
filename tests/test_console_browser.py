"""The console in a real browser: headless Chromium (Debian's /usr/bin/chromium, driven by
Playwright; no browser is downloaded) against gunicorn and the Celery workers, as an on-call
engineer uses it. `-m browser` selects these; without Chromium they skip.

AIOPS_SCREENSHOTS=1 also writes docs/screenshots/case-page.png and dashboard.png.
"""

import os
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db import connections
from django.utils import timezone

from apps.cases.models import CaseTimeline, OpsCase
from apps.gate import services as gate_services
from apps.gate.models import PlanApproved
from apps.sensor.points import Point
from apps.sensor.services import metrics_upsert
from tests import support
from tests.conftest import client_for, make_user
from tests.fakes.kube_api import FakeKubeAPI

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.slow,
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"no Chromium at {CHROMIUM}"),
]
sync_api = pytest.importorskip("playwright.sync_api")

TARGETS = {"actions": ["echo.*", "kubernetes.*"], "kubernetes_namespaces": ["default"]}
# prod: the loop runs by itself and a person approves every plan, never its requester.
# staging: manual, so nothing moves but what the test does.
POLICY = {
    "approval_ttl_minutes": 240,
    "environments": {
        "prod": {
            "auto_approve_max": 20,
            "reject_min": 95,
            "four_eyes": True,
            "autopilot": "supervised",
            "targets": TARGETS,
        },
        "staging": {
            "auto_approve_max": 60,
            "reject_min": 95,
            "autopilot": "manual",
            "targets": TARGETS,
        },
    },
}


@pytest.fixture
def kube(tmp_path):
    fake = FakeKubeAPI().start()
    fake.add_deployment("default", "checkout", "shop/checkout:1.0", replicas=2)
    fake.kubeconfig = fake.write_kubeconfig(tmp_path / "kubeconfig")
    yield fake
    fake.stop()


@pytest.fixture
def platform(transactional_db, kube):
    """gunicorn and both worker pools on the test database, the admin's static files
    collected as `make run` does."""
    gate_services.policy_save(document=POLICY, cedar="", actor="test")
    call_command("collectstatic", interactive=False, verbosity=0)
    support.purge_broker()
    env = {"KUBECONFIG": str(kube.kubeconfig), "AIOPS_EXEC_K8S_NAMESPACES": "default"}
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


@pytest.fixture
def browser(monkeypatch):
    # Playwright's sync API keeps an event loop in this thread; the test's own ORM calls are
    # still synchronous, so Django's guard against async contexts is lifted for them.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield chromium
        chromium.close()
        # ORM calls made while Playwright's loop ran had a connection of their own (Django
        # keys connections by async context): closed here, or the test database cannot go.
        connections.close_all()


def sign_in(browser, url: str, username: str):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{url}/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "pw-" + username)
    page.click("input[type=submit]")
    page.wait_for_url(f"{url}/admin/")
    return page


def staff(username: str, *roles: str):
    user = make_user(username, *roles)
    user.is_staff = True
    user.save()
    return user


def healthy_metrics():
    now = timezone.now().replace(second=0, microsecond=0)
    metrics_upsert(
        points=[
            Point(now - timedelta(minutes=m), "checkout", metric, {}, v)
            for m in range(11)
            for metric, v in (("http_p95_ms", 180.0), ("http_error_rate", 0.01))
        ]
    )


def create(api, environment: str, **fields) -> str:
    body = {"title": "checkout p95 up", "service": "checkout", "environment": environment}
    body.update(fields)
    response = api.post("/case/create", body, format="json")
    assert response.status_code == 201, response.json()
    return response.json()["id"]


def pending_in_prod(api) -> str:
    """A prod case whose restart plan (proposed by the loop for its creator) waits for a
    person at the gate."""
    params = {"namespace": "default", "verify_delay_s": 0, "verify_window_s": 300}
    case_id = create(api, "prod", template="restart", params=params)
    support.wait_for(
        support.swept(
            lambda: CaseTimeline.objects.filter(
                case_id=case_id, event="gate_decision", data__decision="needs_human"
            ).first()
        ),
        timeout=90,
        what="the gate to ask for a person",
    )
    return case_id


def case_page(page, url: str, case_id: str):
    page.goto(f"{url}/admin/cases/opscase/{case_id}/change/")
    return page


def shown_state(page) -> str:
    return page.inner_text("#case-state")


def shoot(page, name: str) -> None:
    if os.environ.get("AIOPS_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / name), full_page=True)


def test_a_second_approver_approves_on_the_page_and_watches_the_case_close(
    platform, browser, operator, api
):
    healthy_metrics()
    case_id = pending_in_prod(api)
    staff("alice", "approver")
    page = sign_in(browser, platform, "alice")
    page.goto(f"{platform}/admin/dashboard/")
    shoot(page, "dashboard.png")
    page.click(f"#pending a[href$='/{case_id}/change/']")  # from the list
    assert shown_state(page) == "WAIT_GATE"
    page.fill("#id_reason", "restart is safe, checked the dashboards")
    page.click("#action-approve")
    assert "Approved" in page.inner_text("ul.messagelist")

    def closed():
        page.reload()
        return shown_state(page) in ("CLOSED", "PARKED") and shown_state(page)

    assert support.wait_for(support.swept(closed, every=5), timeout=120, interval=1) == "CLOSED"
    assert CaseTimeline.objects.get(case_id=case_id, event="gate_approved").actor == "alice"
    assert page.locator(".checkpoint-chart svg").count() >= 1
    shoot(page, "case-page.png")


def test_the_requester_approving_their_own_plan_is_refused_on_the_page(
    platform, browser, operator, api
):
    case_id = pending_in_prod(api)
    operator.is_staff = True
    operator.save()
    operator.groups.add(Group.objects.get_or_create(name="approver")[0])
    page = case_page(sign_in(browser, platform, operator.username), platform, case_id)
    page.click("#action-approve")
    assert "cannot approve it" in page.inner_text("ul.messagelist")
    assert not PlanApproved.objects.filter(case_id=case_id).exists()
    assert OpsCase.objects.get(pk=case_id).state == "WAIT_GATE"
    assert shown_state(page) == "WAIT_GATE"


def test_an_action_from_a_stale_page_is_refused_and_the_case_stays_as_the_api_left_it(
    platform, browser, operator, api
):
    case_id = create(api, "staging")  # manual: stays NEW until someone acts
    operator.is_staff = True
    operator.save()
    page = case_page(sign_in(browser, platform, operator.username), platform, case_id)
    assert shown_state(page) == "NEW"
    other = client_for(make_user("otto", "operator"))
    moved = other.patch(f"/case/{case_id}/transition", {"event": "start_analysis"}, format="json")
    assert moved.status_code == 200
    page.fill("#id_reason", "duplicate of another case")
    page.click("#action-park")  # parking is allowed from ANALYZING too: only If-Match stops it
    message = page.inner_text("ul.messagelist")
    assert "the case changed while you were looking" in message
    assert OpsCase.objects.get(pk=case_id).state == "ANALYZING"
    assert shown_state(page) == "ANALYZING"
