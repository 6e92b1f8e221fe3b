"""What the platform benches share: an HTTP client with the admin's token, waiting on a
case's state by polling its GET over HTTP (as a client would), the healthy metric history
the plans' checks read, and running work from a few client threads at once."""

from __future__ import annotations

import http.client
import threading
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import requests

# How often a client looks at a case it waits on: 10 ms, the figures' resolution.
POLL_S = 0.01


def request(
    base: str, method: str, path: str, body: bytes | None = None, **headers
) -> tuple[int, bytes]:
    """One request on a connection of its own; the answer's status and body. For load
    generators:
    gunicorn's sync workers close each connection anyway, and http.client costs the client a
    third of requests' CPU (0.34 against 0.96 ms a request), CPU taken from the machine the
    platform under test runs on."""
    where = urlsplit(base)
    connection = http.client.HTTPConnection(where.hostname, where.port, timeout=30)
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


class Http:
    def __init__(self, base: str, token: str):
        self.base = base
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Token {token}"

    def send(self, method: str, path: str, body=None) -> dict:
        response = self.session.request(method, self.base + path, json=body, timeout=60)
        if response.status_code >= 300:
            raise RuntimeError(f"{method} {path} → {response.status_code}: {response.text[:500]}")
        return response.json()

    def get(self, path: str) -> dict:
        return self.send("GET", path)

    def wait_state(self, case_id: str, states: tuple[str, ...], timeout: float = 120) -> str:
        return self.wait_case(case_id, states, timeout)["state"]

    def wait_case(
        self, case_id: str, states: tuple[str, ...], timeout: float = 120, poll_s: float = POLL_S
    ) -> dict:
        """The case once it is in one of `states`, read every `poll_s`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            case = self.get(f"/case/{case_id}")
            if case["state"] in states:
                return case
            time.sleep(poll_s)
        raise RuntimeError(f"case {case_id} not in {states} after {timeout}s")


def seed_healthy(http: Http, service: str) -> None:
    """Fifteen healthy minutes of the series the plans' checks read."""
    now = datetime.now(UTC)
    points = [
        {
            "service": service,
            "metric": metric,
            "ts": (now - timedelta(minutes=m)).isoformat(),
            "value": value,
        }
        for m in range(15)
        for metric, value in (("http_p95_ms", 150), ("http_error_rate", 0.01))
    ]
    http.send("POST", "/ingest/metrics", points)


class KeepHealthy(threading.Thread):
    """Seeds the healthy history again every `every` seconds while a bench runs: the checks
    read the last minutes, and a long run would otherwise outlive the first seed."""

    def __init__(self, base: str, token: str, service: str, every: float = 30):
        super().__init__(daemon=True, name="keep-healthy")
        self.http, self.service, self.every = Http(base, token), service, every
        self.halt = threading.Event()

    def run(self):
        while not self.halt.wait(self.every):
            seed_healthy(self.http, self.service)

    def __enter__(self):
        seed_healthy(self.http, self.service)
        self.start()
        return self

    def __exit__(self, *exc):
        self.halt.set()


def parallel(work, count: int, clients: int) -> tuple[float, list]:
    """Run `work(http)` `count` times over `clients` threads, each with its own session
    (made by `connect()`); returns (wall seconds, results)."""
    results, lock, todo = [], threading.Lock(), iter(range(count))
    errors: list[BaseException] = []

    def client():
        while True:
            with lock:
                item = next(todo, None)
            if item is None or errors:
                return
            try:
                value = work()
            except BaseException as exc:  # surfaced below, not lost in a thread
                errors.append(exc)
                return
            with lock:
                results.append(value)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return time.perf_counter() - started, results
