"""Attacks on the http adapter's destination check, each judged by its effect: a real
listener on 127.0.0.1 records every connection it accepts, and an attack fails only if
nothing reached it. Most run the adapter in-process (no database); the last goes through
a real worker and the park → cancel path.
"""

from __future__ import annotations

import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from apps.cases.services import case_park
from apps.executor import services
from apps.executor.adapters.base import Context, StepCancelled, StepError, StepSpec, StepTimeout
from apps.executor.adapters.http import HttpAdapter
from apps.executor.models import ExecRun, ExecStep
from tests import support
from tests.conftest import drive_to_executing, plan_step, sample_plan, wait_run_finished
from tests.factories import set_targets

REAL_GETADDRINFO = socket.getaddrinfo


class Listener:
    """An HTTP server on 127.0.0.1 that records every connection and request.

    `/sleep/<s>` answers after s seconds; `/redirect?<url>` answers 302 to url; `/big`
    promises 100 MB and keeps writing until the client goes away (then `aborted` is set);
    anything else answers 200 with a small JSON body."""

    def __init__(self):
        self.connections = 0
        self.requests: list[dict] = []
        self.aborted = threading.Event()
        listener = self

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def verify_request(self, request, client_address):
                listener.connections += 1
                return True

        self.server = Server(("127.0.0.1", 0), _handler(self))
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def _handler(listener: Listener):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            listener.requests.append({"path": self.path, "headers": dict(self.headers)})
            if self.path.startswith("/sleep/"):
                time.sleep(float(self.path.rsplit("/", 1)[1]))
            if self.path.startswith("/redirect?"):
                self.send_response(302)
                self.send_header("Location", self.path.split("?", 1)[1])
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif self.path == "/big":
                self._stream(100 * 1024 * 1024)
            else:
                body = b'{"ok": true}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        do_POST = do_GET

        def _stream(self, length: int):
            self.send_response(200)
            self.send_header("Content-Length", str(length))
            self.end_headers()
            try:
                for _ in range(length // 65536):
                    self.wfile.write(b"x" * 65536)
            except OSError:
                listener.aborted.set()

        def log_message(self, format, *args):
            pass

    return Handler


@pytest.fixture
def listener():
    server = Listener()
    yield server
    server.stop()


@pytest.fixture
def allow(settings):
    """Set the allow-list (the settings the adapter reads at call time)."""

    def set_entries(*entries: str):
        settings.EXEC_HTTP_ALLOWED_HOSTS = list(entries)

    return set_entries


@pytest.fixture
def resolver(monkeypatch):
    """Names of our choosing resolve to addresses of our choosing (a DNS record an attacker
    controls); other names go to the real resolver. Counts the lookups of each name."""
    records: dict[str, list] = {}
    lookups: dict[str, int] = {}

    def getaddrinfo(host, port, *args, **kwargs):
        if host not in records:
            return REAL_GETADDRINFO(host, port, *args, **kwargs)
        lookups[host] = lookups.get(host, 0) + 1
        answer = records[host]
        answer = answer(lookups[host]) if callable(answer) else answer
        return [
            (
                socket.AF_INET6 if ":" in ip else socket.AF_INET,
                socket.SOCK_STREAM,
                6,
                "",
                (ip, port),
            )
            for ip in answer
        ]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return records, lookups


def call(url, *, method="GET", timeout_s=10.0, ctx=None, **params):
    step = StepSpec(
        step_id="call",
        adapter="http",
        action="request",
        params={"method": method, "url": url, **params},
        timeout_s=timeout_s,
        attempt=1,
        message_id="m-1",
        case_id="c-1",
        run_id="r-1",
    )
    return HttpAdapter().run(step, ctx or Context(timeout_s))


def refused(url, **params) -> StepError:
    with pytest.raises(StepError) as caught:
        call(url, **params)
    assert not caught.value.retryable, caught.value
    return caught.value


def test_the_listener_is_reachable_when_the_allow_list_names_its_address(listener, allow):
    """The control: without it every 'nothing reached the listener' below proves nothing."""
    allow(f"127.0.0.1:{listener.port}")
    outcome = call(f"http://127.0.0.1:{listener.port}/ok?a=1#frag")
    assert outcome.result["status"] == 200
    assert outcome.result["json"] == {"ok": True}
    [request] = listener.requests
    assert request["path"] == "/ok?a=1"
    assert request["headers"]["Host"] == f"127.0.0.1:{listener.port}"
    assert request["headers"]["Idempotency-Key"] == "m-1"


@pytest.mark.parametrize(
    "url",
    [
        "http://allowed.example@127.0.0.1:{port}/",
        "http://allowed.example:{port}@127.0.0.1:{port}/",
        "http://127.0.0.1:{port}\\@allowed.example/",
        "http://127.0.0.1:{port}\\\\@allowed.example:{port}/",
        "http://127.0.0.1:{port}#@allowed.example/",
        "http://127.0.0.1:{port}?@allowed.example/",
        "http://allowed.example\t@127.0.0.1:{port}/",
        "http://[::ffff:127.0.0.1]:{port}/",
        "http://[::ffff:7f00:1]:{port}/",
        "http://2130706433:{port}/",
        "http://0x7f.1:{port}/",
        "http://0x7f000001:{port}/",
        "http://127.1:{port}/",
        "http://0177.0.0.1:{port}/",
        "http://127.0.0.1:{port}/",
        "http://localhost:{port}/",
        "gopher://127.0.0.1:{port}/_GET%20/",
        "file:///etc/passwd",
        "//127.0.0.1:{port}/",
    ],
)
def test_a_crafted_url_naming_an_allowed_host_does_not_reach_a_local_listener(listener, allow, url):
    allow("allowed.example", f"allowed.example:{listener.port}", "gateway.example:443")
    refused(url.format(port=listener.port))
    assert listener.connections == 0
    assert listener.requests == []


def test_an_allowed_name_that_resolves_to_loopback_is_refused(listener, allow):
    # `localhost` resolves to 127.0.0.1 (and ::1) without any help: listing the name is not
    # listing the address.
    allow(f"localhost:{listener.port}")
    error = refused(f"http://localhost:{listener.port}/")
    assert "not a public address" in str(error)
    assert listener.connections == 0


@pytest.mark.parametrize(
    "addresses",
    [
        ["127.0.0.1"],
        ["1.1.1.1", "127.0.0.1"],  # every address is checked, not only the first
        ["::1"],
        ["::ffff:127.0.0.1"],
        ["169.254.169.254"],
        ["10.0.0.1"],
        ["fd00::1"],
        ["0.0.0.0"],
    ],
)
def test_an_allowed_name_whose_dns_answers_a_non_public_address_is_refused(
    listener, allow, resolver, addresses
):
    records, _ = resolver
    records["allowed.example"] = addresses
    allow(f"allowed.example:{listener.port}")
    error = refused(f"http://allowed.example:{listener.port}/")
    assert "not a public address" in str(error)
    assert listener.connections == 0


def test_the_name_is_looked_up_once_and_the_checked_address_is_the_one_connected_to(
    listener, allow, resolver
):
    """DNS rebinding: a second lookup would answer another address; there is none."""
    records, lookups = resolver
    records["gw.test"] = lambda n: ["127.0.0.1"] if n == 1 else ["10.66.66.66"]
    allow(f"gw.test:{listener.port}", f"127.0.0.1:{listener.port}")
    outcome = call(f"http://gw.test:{listener.port}/routes")
    assert outcome.result["status"] == 200
    assert lookups == {"gw.test": 1}
    [request] = listener.requests
    assert request["headers"]["Host"] == f"gw.test:{listener.port}"


def test_a_redirect_to_a_forbidden_listener_is_not_followed(listener, allow):
    forbidden = Listener()
    try:
        allow(f"127.0.0.1:{listener.port}")
        target = f"http://127.0.0.1:{forbidden.port}/stolen"
        error = refused(f"http://127.0.0.1:{listener.port}/redirect?{target}")
        assert "returned 302" in str(error)
        outcome = call(f"http://127.0.0.1:{listener.port}/redirect?{target}", expected_status=302)
        assert outcome.result["status"] == 302
        assert len(listener.requests) == 2
        assert forbidden.connections == 0
    finally:
        forbidden.stop()


@pytest.mark.parametrize(
    "name",
    [
        "Host",
        "host",
        "Connection",
        "Keep-Alive",
        "Proxy-Authorization",
        "Proxy-Connection",
        "TE",
        "Trailer",
        "Transfer-Encoding",
        "Upgrade",
        "Content-Length",
    ],
)
def test_a_caller_set_host_or_hop_by_hop_header_refuses_the_step(listener, allow, name):
    allow(f"127.0.0.1:{listener.port}")
    error = refused(f"http://127.0.0.1:{listener.port}/", headers={name: "allowed.example"})
    assert repr(name) in str(error)
    assert listener.connections == 0


def test_a_header_value_with_a_line_break_cannot_smuggle_a_host(listener, allow):
    allow(f"127.0.0.1:{listener.port}")
    refused(f"http://127.0.0.1:{listener.port}/", headers={"X-A": "1\r\nHost: allowed.example"})
    assert listener.connections == 0


@pytest.mark.parametrize(
    "entries",
    [
        ["127.0.0.1"],  # a bare host allows the scheme's default port only
        ["127.0.0.1:1"],
        ["127.0.0.1:80", "127.0.0.1:443"],
    ],
)
def test_a_port_not_on_the_list_is_refused(listener, allow, entries):
    allow(*entries)
    error = refused(f"http://127.0.0.1:{listener.port}/")
    assert "allow-list" in str(error)
    assert listener.connections == 0


def test_a_response_past_the_output_cap_is_cut_and_the_call_aborted(listener, allow, settings):
    settings.EXEC_LOG_MAX_BYTES = 4096
    allow(f"127.0.0.1:{listener.port}")
    started = time.monotonic()
    outcome = call(f"http://127.0.0.1:{listener.port}/big", timeout_s=30)
    assert time.monotonic() - started < 3
    assert len(outcome.stdout) == 4096
    assert outcome.result["truncated"] is True
    assert outcome.result["json"] is None
    assert listener.aborted.wait(5), "the listener could write all 100 MB"


def test_a_call_in_flight_is_aborted_within_a_second_of_the_cancel(listener, allow):
    allow(f"127.0.0.1:{listener.port}")
    ctx = Context(60)
    threading.Timer(0.5, ctx.cancel, args=["run cancelled: the case was parked"]).start()
    started = time.monotonic()
    with pytest.raises(StepCancelled, match="parked"):
        call(f"http://127.0.0.1:{listener.port}/sleep/30", ctx=ctx)
    assert time.monotonic() - started < 1.5
    assert len(listener.requests) == 1  # it was in flight


def test_a_lookup_in_flight_is_abandoned_on_cancel(allow, resolver):
    records, _ = resolver
    records["slow.test"] = lambda n: time.sleep(30) or ["127.0.0.1"]  # the resolver hangs
    allow("slow.test:8080")
    ctx = Context(60)
    threading.Timer(0.3, ctx.cancel, args=["run cancelled"]).start()
    started = time.monotonic()
    with pytest.raises(StepCancelled):
        call("http://slow.test:8080/", ctx=ctx)
    assert time.monotonic() - started < 1.3


def test_one_deadline_covers_the_whole_call(listener, allow):
    allow(f"127.0.0.1:{listener.port}")
    started = time.monotonic()
    with pytest.raises(StepTimeout):
        call(f"http://127.0.0.1:{listener.port}/sleep/30", timeout_s=1)
    assert time.monotonic() - started < 2


@pytest.mark.django_db(transaction=True)
def test_parking_the_case_aborts_the_call_a_worker_has_in_flight(new_case, listener, start_worker):
    # A 3 s lease: the heartbeat looks for the cancel every second.
    start_worker(
        AIOPS_EXEC_HTTP_ALLOWED_HOSTS=f"127.0.0.1:{listener.port}", AIOPS_EXEC_LEASE_SECONDS="3"
    )
    hang = plan_step(
        "hang",
        "http",
        "request",
        params={"method": "GET", "url": f"http://127.0.0.1:{listener.port}/sleep/60"},
        timeout_s=120,
    )
    plan = sample_plan(steps=[hang], rollback=[plan_step("undo")])
    set_targets("staging", actions=["echo.*", "http.*"], http_hosts=[f"127.0.0.1:{listener.port}"])
    case = drive_to_executing(new_case(), document=plan)
    run = services.exec_start(case_id=case.pk, actor="olga")
    support.wait_for(lambda: listener.requests, what="the call to reach the listener")
    case_park(case_id=case.pk, actor="olga", reason="operator takes over")
    support.wait_for(
        lambda: ExecRun.objects.filter(pk=run.pk, cancel_requested=True).exists(),
        interval=0.02,
        what="the park to request the run's cancel",
    )
    cancelled_at = time.monotonic()
    step = support.wait_for(
        lambda: ExecStep.objects.filter(run=run, status="cancelled").first(),
        interval=0.02,
        timeout=20,
        what="the step to be cancelled",
    )
    # one heartbeat (1 s) to see the cancel, then the abort; the listener would take 60 s
    assert time.monotonic() - cancelled_at < 2.5
    assert wait_run_finished(case).status == "cancelled"
    assert "parked" in step.error
