"""Real processes for tests: a Celery worker (and gunicorn) against the test database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def child_env(**extra: str) -> dict[str, str]:
    """The environment of a child process that must share this test run's database/broker
    and script directory (tests/ops-scripts, see tests/plugin.py)."""
    env = dict(os.environ)
    env.update(
        {
            "AIOPS_DATA_DIR": str(settings.DATA_DIR),
            "AIOPS_DB_NAME": connection.settings_dict["NAME"],
            "AIOPS_TEST_APPS": "1",
            "AIOPS_SCRIPT_DIR": str(settings.AIOPS_SCRIPT_DIR),
            "PROMETHEUS_MULTIPROC_DIR": str(settings.PROMETHEUS_MULTIPROC_DIR),
            "DJANGO_SETTINGS_MODULE": "aiops.settings",
            "PYTHONUNBUFFERED": "1",
            # A test's worker embeds at once: the suite keeps the cores busy, and the
            # waiting itself is tested without a worker (tests/test_kb_quiet.py).
            "AIOPS_KB_EMBED_DEFER_S": "0",
            # Writers queue relay tasks unless a test starts the relay process (relay_process)
            # and says so: importing `bench` sets this for its own runs (bench/__init__.py),
            # and a worker inheriting it would wake a relay process no test started.
            "AIOPS_OUTBOX_RELAY_PROCESS": "0",
        }
    )
    env.update(extra)
    return env


def wait_for(
    condition: Callable[[], object], *, timeout: float = 60, interval: float = 0.1, what=""
):
    """Poll until `condition()` is truthy; return its value or fail with `what`."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or condition}")
        time.sleep(interval)


def swept(condition: Callable[[], object], every: float = 5.0) -> Callable[[], object]:
    """`condition`, with the relay's periodic sweep queued every `every` seconds while it is
    false — what beat does in production (`make run`); the test workers run no beat."""
    last = [time.monotonic()]

    def check():
        value = condition()
        if not value and time.monotonic() - last[0] >= every:
            from apps.cases.tasks import relay_outbox

            relay_outbox.delay()
            last[0] = time.monotonic()
        return value

    return check


class Process:
    """A child process in its own process group, its output collected for assertions."""

    def __init__(self, argv: list[str], env: dict[str, str], ready_marker: str = ""):
        self.argv, self.env, self.ready_marker = argv, env, ready_marker
        self.output: list[str] = []
        self.proc: subprocess.Popen | None = None
        self._ready = threading.Event()

    def start(self, timeout: float = 60) -> Process:
        self._ready.clear()
        self.proc = subprocess.Popen(
            self.argv,
            env=self.env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        threading.Thread(target=self._pump, args=(self.proc,), daemon=True).start()
        if self.ready_marker and not self._ready.wait(timeout):
            self.stop()
            raise AssertionError(f"{self.argv[:3]} not ready:\n{self.tail()}")
        return self

    def _pump(self, proc: subprocess.Popen) -> None:
        for line in proc.stdout:
            self.output.append(line)
            if self.ready_marker and self.ready_marker in line:
                self._ready.set()

    def tail(self, lines: int = 40) -> str:
        return "".join(self.output[-lines:])

    def kill(self) -> None:
        """SIGKILL the whole process group: no shutdown handler gets to run."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def stop(self, timeout: float = 20) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()


def celery_worker(queues: str = "celery,executor,kb", concurrency: int = 2, **env: str) -> Process:
    argv = [
        str(BIN / "celery"),
        "-A",
        "aiops",
        "worker",
        "-Q",
        queues,
        f"--concurrency={concurrency}",
        "--loglevel=INFO",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
    ]
    return Process(argv, child_env(**env), ready_marker=" ready.")


def relay_process(**env: str) -> Process:
    """The relay process (`manage.py relay`), writers waking it (AIOPS_OUTBOX_RELAY_PROCESS)."""
    argv = [sys.executable, str(ROOT / "manage.py"), "relay"]
    # The probe's events plan nothing: no embedding model to load in the background.
    env = {"AIOPS_OUTBOX_RELAY_PROCESS": "1", "AIOPS_KB_PRELOAD": "0", **env}
    return Process(argv, child_env(**env), ready_marker="relay: ready")


def gunicorn(port: int, workers: int = 2, threads: int = 1, **env: str) -> Process:
    argv = [
        str(BIN / "gunicorn"),
        "aiops.wsgi:application",
        f"--bind=127.0.0.1:{port}",
        f"--workers={workers}",
        f"--threads={threads}",
        "--log-level=info",
    ]
    return Process(argv, child_env(**env), ready_marker="Booting worker")


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def broker_idle() -> bool:
    """No task waiting, reserved or unacknowledged in the test broker."""
    import redis

    client = redis.Redis(
        unix_socket_path=settings.CELERY_BROKER_URL.removeprefix("redis+socket://")
    )
    queued = sum(client.llen(queue) for queue in ("celery", "executor", "kb"))
    return queued == 0 and client.hlen("unacked") == 0


def purge_broker() -> None:
    """Empty the test broker: queues, unacked messages of killed workers, delayed retries."""
    import redis

    socket_path = settings.CELERY_BROKER_URL.removeprefix("redis+socket://")
    redis.Redis(unix_socket_path=socket_path).flushdb()


def queued(queue: str = "celery") -> list[tuple[str, list]]:
    """(task name, args) of each message waiting in `queue` of the test broker, oldest first;
    args as the worker gets them (JSON: tuples are lists)."""
    import ast
    import json

    import redis

    socket_path = settings.CELERY_BROKER_URL.removeprefix("redis+socket://")
    raw = redis.Redis(unix_socket_path=socket_path).lrange(queue, 0, -1)
    messages = [json.loads(m) for m in reversed(raw)]
    return [
        (m["headers"]["task"], json.loads(json.dumps(ast.literal_eval(m["headers"]["argsrepr"]))))
        for m in messages
    ]
