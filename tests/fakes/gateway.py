"""A local HTTP traffic gateway for the http adapter: records requests, answers as scripted.

`respond(path, *statuses)` queues the statuses the next requests to `path` get (then 200);
`delay(path, seconds)` makes `path` slow; `echo_authorization(path)` puts the Authorization
header it received into its answers to `path` (`authorizations` lists every one). Requests
repeating a seen Idempotency-Key get the first answer again without being applied twice
(`applied` counts applied changes).
"""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.fakes import read_body, reply_json


class FakeGateway:
    def __init__(self):
        self.lock = threading.Lock()
        self.requests: list[dict] = []
        self.applied: list[dict] = []
        self.scripted: dict[str, list[int]] = defaultdict(list)
        self.delays: dict[str, float] = {}
        self.answers: dict[str, tuple[int, dict]] = {}
        self.authorizations: list[str | None] = []
        self.echoing: set[str] = set()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.server.server_address[1]}"

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    def start(self) -> FakeGateway:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def respond(self, path: str, *statuses: int) -> None:
        with self.lock:
            self.scripted[path].extend(statuses)

    def delay(self, path: str, seconds: float) -> None:
        self.delays[path] = seconds

    def echo_authorization(self, path: str) -> None:
        self.echoing.add(path)

    def handle(self, method: str, path: str, headers: dict, body: bytes) -> tuple[int, dict]:
        key = headers.get("Idempotency-Key", "")
        payload = json.loads(body) if body else None
        authorization = headers.get("Authorization")
        with self.lock:
            self.requests.append({"method": method, "path": path, "key": key, "json": payload})
            self.authorizations.append(authorization)
        if path in self.delays:
            time.sleep(self.delays[path])
        with self.lock:
            if key and key in self.answers:
                return self.answers[key]
            status = self.scripted[path].pop(0) if self.scripted[path] else 200
            if 200 <= status < 300:
                self.applied.append({"method": method, "path": path, "json": payload})
                answer = (status, {"ok": True, "path": path, "applied": len(self.applied)})
                if path in self.echoing:
                    answer[1]["authorization"] = authorization
            else:
                answer = (status, {"ok": False, "error": f"scripted {status}"})
            if key and 200 <= status < 300:
                self.answers[key] = answer
            return answer


def _handler(fake: FakeGateway):
    class Handler(BaseHTTPRequestHandler):
        def _serve(self):
            body = read_body(self)
            status, payload = fake.handle(self.command, self.path, dict(self.headers), body)
            reply_json(self, status, payload)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

        def log_message(self, format, *args):
            pass

    return Handler
