"""PostgreSQL restarted during a burst of writes: clients see 503s (or a refused connection)
and retry with their Idempotency-Key; no case is half-written and none is created twice."""

import threading
import time
import uuid

import pytest
import requests
from django.conf import settings
from django.db import connection

from aiops import embedded
from apps.cases.models import CaseTimeline, OpsCase, Outbox
from tests import support
from tests.conftest import token_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

CLIENTS = 4


@pytest.fixture
def server(transactional_db):
    port = support.free_port()
    process = support.gunicorn(port, workers=2, threads=4, AIOPS_THROTTLE_WRITES="100000/s").start()
    url = f"http://127.0.0.1:{port}"
    support.wait_for(lambda: _up(url), what="gunicorn to answer")
    yield url
    process.stop()


def _up(url: str) -> bool:
    try:
        return requests.get(f"{url}/healthz", timeout=2).ok
    except requests.RequestException:
        return False


def test_a_restart_during_a_burst_leaves_no_case_half_written_or_doubled(server, operator):
    headers = {"Authorization": f"Token {token_for(operator)}"}
    created, seen, unexpected, lock = [], [], [], threading.Lock()
    go, stop = threading.Event(), threading.Event()

    def client(n: int):
        session = requests.Session()
        go.wait()
        for i in range(100_000):
            if stop.is_set():
                return
            key = str(uuid.uuid4())
            body = {"title": f"burst {n}-{i}", "service": "checkout", "environment": "staging"}
            for _ in range(60):  # a retry with the same key is safe: replayed, not redone
                try:
                    response = session.post(
                        f"{server}/case/create",
                        json=body,
                        headers={**headers, "Idempotency-Key": key},
                        timeout=30,
                    )
                except requests.RequestException as exc:
                    with lock:
                        seen.append(type(exc).__name__)
                    time.sleep(0.5)
                    continue
                with lock:
                    seen.append(response.status_code)
                if response.status_code == 201:
                    with lock:
                        created.append(response.json()["id"])
                    break
                if response.status_code != 503 or not response.json()["type"].endswith(
                    "/database-unavailable"
                ):
                    with lock:
                        unexpected.append((response.status_code, response.text[:300]))
                    return
                time.sleep(float(response.headers.get("Retry-After", "1")))

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    for thread in threads:
        thread.start()
    go.set()
    time.sleep(1.0)  # writes in full flow
    embedded._pg_ctl(settings.DATA_DIR, "restart")
    connection.close()  # this test's own connection died with the server
    time.sleep(2.0)  # and flowing again
    stop.set()
    for thread in threads:
        thread.join()

    print(f"responses: { {s: seen.count(s) for s in set(seen)} }")
    assert unexpected == []  # only 201 and, while the server restarts, 503 (or no answer)
    assert any(s == 503 or isinstance(s, str) for s in seen), "the restart went unnoticed"
    assert len(set(created)) == len(created)
    burst = OpsCase.objects.filter(title__startswith="burst ")
    assert burst.count() == len(created)  # every create that answered 201 once, none twice
    for case in burst:  # none half-written: its create row and its event are there
        assert CaseTimeline.objects.filter(case=case, event="create").count() == 1
        assert Outbox.objects.filter(subject=str(case.pk), data__event="create").count() == 1
