"""An open-loop HTTP load generator in one thread: request i is due at start + i/rate,
whatever happened to the ones before it, and its latency runs from that due time to the
end of its answer, so a server that falls behind shows as latency, not as a slower
schedule (coordinated omission accounted for).

One thread with non-blocking sockets and a selector, each request on a connection of its
own (`Connection: close`; gunicorn's sync workers close each one anyway). It costs the
generator half the CPU that 64 sender threads speaking http.client did (0.3 against 0.6 ms
a request), CPU taken from the machine the platform under test runs on, and no thread
waits for the GIL to read its answer (docs/perf/transitions.md).
"""

from __future__ import annotations

import errno
import selectors
import socket
import time
from dataclasses import dataclass, field

from bench.report import percentile


def raw_request(
    host: str, port: int, method: str, path: str, body: bytes = b"", **headers: str
) -> bytes:
    """The bytes of one HTTP/1.1 request that asks the server to close after answering."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}", "Connection: close"]
    lines += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
    if body or method not in ("GET", "HEAD"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


@dataclass
class _Pending:
    index: int
    due: float
    data: bytes
    sent: int = 0
    answer: bytearray = field(default_factory=bytearray)
    head_end: int = -1
    length: int | None = None


@dataclass
class Outcome:
    """Each request's latency in seconds (from its due time), in the order they ended, and
    a description of each that failed (a status other than `ok`, or a socket error)."""

    latencies: list[float]
    failures: list[str]
    wall: float

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.wall

    def summary(self) -> dict:
        return {
            "rate": self.rate,
            "p50": percentile(self.latencies, 50) * 1000,
            "p99": percentile(self.latencies, 99) * 1000,
            "max": max(self.latencies) * 1000,
            "failures": self.failures,
        }


def run(
    address: tuple[str, int],
    requests: list[bytes],
    rate: float,
    *,
    ok: int = 200,
    lead: float = 0.5,
    timeout: float = 30.0,
) -> Outcome:
    """Send `requests` to `address` (host, port), request i due at start + i/rate; start is
    `lead` seconds from now. Returns when every request has its answer or failed."""
    selector = selectors.DefaultSelector()
    start = time.perf_counter() + lead
    latencies: list[float] = []
    failures: list[str] = []
    following, open_, looked = 0, 0, start

    def finish(sock: socket.socket, pending: _Pending, problem: str | None) -> None:
        nonlocal open_
        latencies.append(time.perf_counter() - pending.due)
        if problem:
            failures.append(f"request {pending.index}: {problem}")
        selector.unregister(sock)
        sock.close()
        open_ -= 1

    while following < len(requests) or open_:
        now = time.perf_counter()
        while following < len(requests) and start + following / rate <= now:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setblocking(False)
            code = sock.connect_ex(address)
            pending = _Pending(following, start + following / rate, requests[following])
            following += 1
            open_ += 1
            selector.register(sock, selectors.EVENT_WRITE, pending)
            if code not in (0, errno.EINPROGRESS):
                finish(sock, pending, f"connect: {errno.errorcode.get(code, code)}")
        wait = start + following / rate - now if following < len(requests) else 1.0
        for key, _ in selector.select(max(wait, 0)):
            sock, pending = key.fileobj, key.data
            try:
                if pending.sent < len(pending.data):
                    pending.sent += sock.send(pending.data[pending.sent :])
                    if pending.sent == len(pending.data):
                        selector.modify(sock, selectors.EVENT_READ, pending)
                    continue
                chunk = sock.recv(65536)
            except OSError as exc:
                finish(sock, pending, f"socket: {exc}")
                continue
            pending.answer += chunk
            problem = _complete(pending, closed=not chunk, ok=ok)
            if problem is not False:
                finish(sock, pending, problem)
        now = time.perf_counter()
        if now - looked > 1.0:  # once a second: give up on what waited over `timeout`
            looked = now
            for key in list(selector.get_map().values()):
                if now - key.data.due > timeout:
                    finish(key.fileobj, key.data, f"no answer in {timeout:.0f} s")
    selector.close()
    return Outcome(latencies, failures, time.perf_counter() - start)


def _complete(pending: _Pending, *, closed: bool, ok: int) -> str | bool | None:
    """False while the answer is not all in; then None if its status is `ok`, else what
    went wrong."""
    answer = pending.answer
    if pending.head_end < 0:
        pending.head_end = answer.find(b"\r\n\r\n")
        if pending.head_end >= 0:
            head = bytes(answer[: pending.head_end]).lower()
            at = head.find(b"\r\ncontent-length:")
            if at >= 0:
                pending.length = int(head[at + 17 :].split(b"\r\n", 1)[0])
    if pending.head_end < 0:
        return "closed before the answer's head" if closed else False
    if pending.length is not None and len(answer) < pending.head_end + 4 + pending.length:
        return "closed mid-answer" if closed else False
    if pending.length is None and not closed:
        return False  # no length: the body ends when the server closes
    status = int(answer[9:12])
    return None if status == ok else f"status {status}"
