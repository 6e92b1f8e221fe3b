"""Concurrent writers against a live HTTP server: optimistic concurrency and idempotency hold."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from apps.cases.models import CaseTimeline, OpsCase, Outbox
from tests import support
from tests.conftest import token_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def race(count: int, send) -> list[requests.Response]:
    """Run `send()` from `count` threads released at the same instant."""
    barrier = threading.Barrier(count)

    def one(_):
        barrier.wait()
        return send()

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(one, range(count)))


@pytest.fixture
def token(operator):
    return token_for(operator)


@pytest.fixture
def server(transactional_db):
    """gunicorn with 50 request threads: every racer is served at the same time."""
    port = support.free_port()
    process = support.gunicorn(port, workers=2, threads=25).start()
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


def test_fifty_transitions_with_the_same_if_match_let_exactly_one_through(server, token, new_case):
    case = new_case()
    url = f"{server}/case/{case.pk}/transition"
    headers = {"Authorization": f"Token {token}", "If-Match": '"1"'}

    def send():
        return requests.patch(url, json={"event": "start_analysis"}, headers=headers, timeout=60)

    statuses = [r.status_code for r in race(50, send)]
    assert statuses.count(200) == 1
    assert set(statuses) - {200} <= {409, 412}
    assert OpsCase.objects.get(pk=case.pk).version == 2
    transitions = CaseTimeline.objects.filter(case=case).exclude(event="create").count()
    events = Outbox.objects.filter(subject=str(case.pk)).exclude(data__event="create").count()
    assert transitions == events == statuses.count(200)


def test_twins_with_one_idempotency_key_create_one_case(server, token):
    url = f"{server}/case/create"
    headers = {"Authorization": f"Token {token}", "Idempotency-Key": "twin"}
    body = {"title": "twin", "service": "checkout", "environment": "prod"}

    def send():
        return requests.post(url, json=body, headers=headers, timeout=60)

    responses = race(10, send)
    created = [r for r in responses if r.status_code == 201]
    assert OpsCase.objects.count() == 1
    # Whoever did not create it saw it in flight (409) or got the stored answer replayed.
    assert all(r.status_code in (201, 409) for r in responses)
    assert len({r.json()["id"] for r in created}) == 1
