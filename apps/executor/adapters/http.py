"""http: one call to a traffic gateway (or any allow-listed HTTP API).

params: method (GET/POST/PUT/PATCH/DELETE); url (http/https; see apps/executor/egress.py for
what it may name and resolve to); json (the body; `body` is an alias); headers (optional;
never Host, Content-Length or a hop-by-hop header); expected_status (an int or a list;
default any 2xx). A header value or a string in the body may be a secretRef in the plan;
the runner hands this adapter the value (apps/executor/secretrefs.py); the url is never
one. Sends the attempt's message id as Idempotency-Key, so a redelivered message is not
applied twice by a gateway honouring it.

The URL is parsed and checked once (egress.check_url), the name resolved once, every address
checked (egress.check_addresses), and the connection opened to a checked address — no
second parse, no second lookup, no proxy, no redirect followed. The whole call (lookup,
connect, send, read) has the step's deadline, and a cancelled step aborts the connection
at once. At most EXEC_LOG_MAX_BYTES of the response body is read; the rest is not.
5xx, 429 and connection errors are retryable; refusals and other statuses are not.
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import json
import re
import socket
import threading

import certifi
import urllib3
from django.conf import settings
from urllib3.connection import HTTPConnection, HTTPSConnection

from aiops.registry import ActionSpec, AdapterSpec, secret_ok
from apps.executor import egress, secretrefs
from apps.executor.adapters.base import (
    Adapter,
    Context,
    Outcome,
    Preview,
    StepError,
    StepSpec,
)

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
# The adapter frames the message and names the host itself: a caller's Host would send the
# request to another virtual host than the one checked, and framing or hop-by-hop headers
# would let a body be read as a second request by a proxy in between.
# Every proxy-* header is refused as well.
FORBIDDEN_HEADERS = frozenset(
    {
        "host",
        "content-length",
        "connection",
        "keep-alive",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
# Shown as [redacted] in a preview even when a plan writes the value itself.
SENSITIVE_HEADERS = frozenset(
    {"authorization", "cookie", "x-api-key", "x-auth-token", "api-key", "private-token"}
)
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_VALUE = re.compile(r"[\t -~]*")
_READ_CHUNK = 64 * 1024
_WATCH_INTERVAL_S = 0.05

_REQUEST = ActionSpec(
    risk=15,
    description="one HTTP call to an allow-listed host",
    params_schema={
        "type": "object",
        "required": ["url"],
        "properties": {
            # Case-insensitive at run time, so no enum here.
            "method": {"type": "string"},
            "url": {"type": "string", "minLength": 1},
            # A token in a header value or a body field may be a secretRef; the url may not:
            # the gate must see where a step goes.
            "json": secret_ok(),
            "body": secret_ok(),
            "headers": {"type": "object", "additionalProperties": secret_ok()},
            "expected_status": {
                "oneOf": [
                    {"type": "integer"},
                    {"type": "array", "items": {"type": "integer"}},
                ]
            },
        },
    },
)


def check_headers(headers) -> urllib3.HTTPHeaderDict:
    """The caller's headers, refused (not retryable) if one may not be set or is malformed."""
    if headers is None:
        headers = {}
    if not isinstance(headers, dict):
        raise StepError("http param 'headers' must be an object", retryable=False)
    checked = urllib3.HTTPHeaderDict()
    for name, value in headers.items():
        name, value = str(name), str(value)
        lowered = name.lower()
        if lowered in FORBIDDEN_HEADERS or lowered.startswith("proxy-"):
            raise StepError(f"http header {name!r} may not be set by a step", retryable=False)
        if not _TOKEN.fullmatch(name) or not _VALUE.fullmatch(value):
            raise StepError(
                f"http header {name!r} must be a token with a printable ASCII value",
                retryable=False,
            )
        checked[name] = value
    return checked


class HttpAdapter(Adapter):
    spec = AdapterSpec(
        name="http",
        description="gateway calls (or any allow-listed HTTP API)",
        actions={"request": _REQUEST, "call": _REQUEST},  # `call` is an alias
    )

    def preview(self, step: StepSpec, ctx: Context) -> Preview:
        """The request `run` would send, from the same checks (the URL against the egress
        allow-list included); nothing is looked up or sent. Header values that carry
        credentials are shown redacted even when written in the plan."""
        method, url, dest, headers, body = self._request(step, "<the attempt's message id>")
        shown = {
            name: secretrefs.REDACTED if name.lower() in SENSITIVE_HEADERS else value
            for name, value in headers.items()
        }
        return Preview(
            summary=f"{method} {dest}",
            detail={
                "method": method,
                "url": url,
                "headers": shown,
                "body": body.decode() if body is not None else None,
                "expected_status": step.params.get("expected_status") or "2xx",
            },
            target=f"{dest.host}:{dest.port}",
        )

    def _request(self, step: StepSpec, idempotency_key: str):
        """(method, url, destination, headers, body) after every check that needs no I/O."""
        self.check_action(step)
        params = step.params
        method = str(params.get("method", "POST")).upper()
        if method not in METHODS:
            raise StepError(f"http method {method!r} is not one of {METHODS}", retryable=False)
        url = params.get("url")
        try:
            dest = egress.check_url(url, settings.EXEC_HTTP_ALLOWED_HOSTS)
        except egress.Refused as exc:
            raise StepError(str(exc), retryable=False) from None
        headers = check_headers(params.get("headers"))
        headers["Idempotency-Key"] = idempotency_key
        headers.setdefault("User-Agent", "aiops-executor")
        payload = params.get("json", params.get("body"))
        body = None
        if payload is not None:
            body = json.dumps(payload).encode()
            headers.setdefault("Content-Type", "application/json")
        return method, url, dest, headers, body

    def run(self, step: StepSpec, ctx: Context) -> Outcome:
        method, url, dest, headers, body = self._request(step, step.message_id)
        allowed = settings.EXEC_HTTP_ALLOWED_HOSTS
        expected = step.params.get("expected_status")
        if isinstance(expected, int):
            expected = [expected]

        ctx.check()
        addresses = _resolve(dest, ctx)
        try:
            egress.check_addresses(dest, addresses, allowed)
        except egress.Refused as exc:
            raise StepError(str(exc), retryable=False) from None
        cap = settings.EXEC_LOG_MAX_BYTES
        status, data, truncated = _exchange(dest, addresses, method, headers, body, ctx, cap)

        parsed = None
        if not truncated:
            with contextlib.suppress(ValueError):
                parsed = json.loads(data)
        outcome = Outcome(
            result={
                "method": method,
                "url": url,
                "status": status,
                "json": parsed,
                "truncated": truncated,
            },
            stdout=data,
        )
        ok = status in expected if expected else 200 <= status < 300
        if not ok:
            error = StepError(
                f"{method} {url} returned {status}, expected "
                f"{expected or '2xx'}: {json.dumps(parsed) if parsed is not None else ''}"[:500],
                retryable=status >= 500 or status == 429,
            )
            error.outcome = outcome
            raise error
        return outcome


def _resolve(dest: egress.Destination, ctx: Context) -> list[egress.IPAddress]:
    """The addresses of `dest`, looked up once. getaddrinfo cannot be interrupted, so it runs
    in a daemon thread while this one keeps to the step's deadline and cancel."""
    if dest.ip is not None:
        return [dest.ip]
    done, box = threading.Event(), {}

    def lookup():
        try:
            box["infos"] = socket.getaddrinfo(dest.host, dest.port, type=socket.SOCK_STREAM)
        except OSError as exc:
            box["error"] = exc
        done.set()

    threading.Thread(target=lookup, daemon=True, name=f"resolve-{dest.host}").start()
    while not done.wait(_WATCH_INTERVAL_S):
        ctx.check()
    if "error" in box:
        raise StepError(f"could not resolve {dest.host}: {box['error']}")
    addresses = []
    for _family, _type, _proto, _name, sockaddr in box["infos"]:
        address = ipaddress.ip_address(sockaddr[0])
        if address not in addresses:
            addresses.append(address)
    return addresses


def _exchange(dest, addresses, method, headers, body, ctx: Context, cap: int):
    """Send the request to the first checked address that accepts a connection; return
    (status, at most `cap` body bytes, whether there was more)."""
    watchdog = _Watchdog(ctx)
    watchdog.start()
    conn = response = None
    try:
        error = None
        for address in addresses:
            conn = _connection(dest, address, watchdog, timeout=max(0.1, ctx.remaining()))
            try:
                conn.connect()
                break
            except OSError as exc:
                conn.close()
                ctx.check()  # an abort by the watchdog is a timeout or a cancel, not a failure
                error = exc
        else:
            raise StepError(f"{method} {dest} failed: could not connect: {error}")
        conn.request(
            method,
            dest.target,
            body=body,
            headers=headers,
            preload_content=False,
            decode_content=False,
        )
        response = conn.getresponse()
        data = bytearray()
        while len(data) <= cap:
            chunk = response.read(min(_READ_CHUNK, cap + 1 - len(data)), decode_content=False)
            if not chunk:
                break
            data += chunk
        return response.status, bytes(data[:cap]), len(data) > cap
    except (OSError, http.client.HTTPException, urllib3.exceptions.HTTPError) as exc:
        ctx.check()
        raise StepError(f"{method} {dest} failed: {exc}") from None
    finally:
        watchdog.stop()
        # Past the cap this is what stops the rest of the body: the socket is closed unread.
        if response is not None:
            response.close()
        if conn is not None:
            conn.close()


class _Watchdog(threading.Thread):
    """Shuts the call's socket down when the step is cancelled or its deadline passes, so a
    connect, send or read blocked on the network returns at once instead of at its own
    socket timeout. A socket opened after that is refused before it connects."""

    def __init__(self, ctx: Context):
        super().__init__(daemon=True, name="http-watchdog")
        self.ctx = ctx
        self._done = threading.Event()
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self._fired = False

    def watch(self, sock: socket.socket) -> None:
        with self._lock:
            if self._fired:
                sock.close()
                self.ctx.check()
            self._sock = sock

    def run(self):
        while not self._done.wait(_WATCH_INTERVAL_S):
            if self.ctx.cancelled.is_set() or self.ctx.remaining() <= 0:
                with self._lock:
                    self._fired = True
                    if self._sock is not None:
                        with contextlib.suppress(OSError):
                            self._sock.shutdown(socket.SHUT_RDWR)
                return

    def stop(self):
        self._done.set()
        self.join()


class _Pinned:
    """A urllib3 connection that connects to one checked address instead of looking its host
    up again; `host` stays the URL's host for the Host header, SNI and the certificate."""

    def __init__(self, *args, address: egress.IPAddress, watchdog: _Watchdog, **kwargs):
        super().__init__(*args, **kwargs)
        self._address, self._watchdog = address, watchdog

    def _new_conn(self) -> socket.socket:
        family = socket.AF_INET6 if self._address.version == 6 else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        self._watchdog.watch(sock)
        try:
            sock.settimeout(self.timeout)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.connect((str(self._address), self.port))
        except BaseException:
            sock.close()
            raise
        return sock


class _PinnedHTTP(_Pinned, HTTPConnection):
    pass


class _PinnedHTTPS(_Pinned, HTTPSConnection):
    pass


def _connection(dest, address, watchdog, *, timeout: float):
    if dest.scheme == "https":
        return _PinnedHTTPS(
            dest.host,
            dest.port,
            timeout=timeout,
            address=address,
            watchdog=watchdog,
            cert_reqs="CERT_REQUIRED",
            ca_certs=certifi.where(),
        )
    return _PinnedHTTP(dest.host, dest.port, timeout=timeout, address=address, watchdog=watchdog)
