"""The benches' open-loop generator (bench/openloop.py) against a small local HTTP server:
it keeps its schedule when the server falls behind, and reports what failed."""

import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer, ThreadingHTTPServer

import pytest

from bench import openloop


class Handler(BaseHTTPRequestHandler):
    delay = 0.0

    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        time.sleep(self.delay)
        status = 500 if self.path == "/broken" else 200
        answer = b'{"echo": %d}' % len(body)
        self.send_response(status)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    do_GET = do_PATCH = _answer

    def log_message(self, *args):
        pass


@pytest.fixture
def serve():
    servers = []

    def start(server_class=ThreadingHTTPServer, delay=0.0):
        handler = type("H", (Handler,), {"delay": delay})
        server = server_class(("127.0.0.1", 0), handler)
        server.request_queue_size = 128
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server.server_address

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def test_every_request_is_answered_and_counted(serve):
    host, port = serve()
    request = openloop.raw_request(host, port, "PATCH", "/x", b'{"a": 1}', Authorization="T")

    outcome = openloop.run((host, port), [request] * 40, rate=200, lead=0.05)

    assert len(outcome.latencies) == 40
    assert outcome.failures == []


def test_a_status_other_than_ok_is_a_failure(serve):
    host, port = serve()
    good = openloop.raw_request(host, port, "GET", "/fine")
    bad = openloop.raw_request(host, port, "GET", "/broken")

    outcome = openloop.run((host, port), [good, bad, good], rate=100, lead=0.05)

    assert outcome.failures == ["request 1: status 500"]


def test_a_server_that_falls_behind_shows_as_latency_not_as_a_slower_schedule(serve):
    # One request at a time, 50 ms each: 20 requests due within 0.2 s take about a second,
    # so the last one waits about 0.8 s from its due time. A closed loop would have sent
    # it late and reported about 50 ms.
    host, port = serve(server_class=HTTPServer, delay=0.05)
    request = openloop.raw_request(host, port, "GET", "/slow")

    outcome = openloop.run((host, port), [request] * 20, rate=100, lead=0.05)

    assert outcome.failures == []
    assert max(outcome.latencies) > 0.5


def test_a_refused_connection_is_a_failure_not_a_hang():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: nothing listens there
    request = openloop.raw_request("127.0.0.1", port, "GET", "/")

    outcome = openloop.run(("127.0.0.1", port), [request] * 3, rate=100, lead=0.0, timeout=5)

    assert len(outcome.failures) == 3
    assert all("socket" in failure or "connect" in failure for failure in outcome.failures)
