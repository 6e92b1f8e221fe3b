"""The processes `make run` starts, for a bench to drive over HTTP.

`Platform` runs `manage.py runplatform` (gunicorn, the control and execution worker pools,
beat, under the launcher's supervisor) on the bench's data dir, with `make run`'s settings
and log level; only what the caller passes in `env` differs (say, a kubeconfig pointing at
the fake API server, or the per-user rate caps raised out of the way). The bench reads its
results as a client would: over the API, with the admin's token from the credentials file.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Platform:
    def __init__(self, data_dir: Path, **env: str):
        self.data_dir = Path(data_dir)
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "AIOPS_DATA_DIR": str(self.data_dir), "PORT": str(self.port)}
        self.env.update(env)
        self.proc: subprocess.Popen | None = None
        self.log = self.data_dir / "bench-platform.log"

    def start(self, timeout: float = 180) -> Platform:
        # A bench stopped by SIGTERM (timeout, Ctrl-C in make) still runs its `finally`:
        # the platform lives in its own session and would otherwise outlive it.
        signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "manage.py", "runplatform"],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while not self._ready():
            if self.proc.poll() is not None:
                raise RuntimeError(f"runplatform exited {self.proc.returncode}; see {self.log}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"runplatform not ready after {timeout}s; see {self.log}")
            time.sleep(0.5)
        self.settle()
        return self

    def settle(self, timeout: float = 120, quiet: float = 0.15) -> None:
        """Until the platform's processes use under `quiet` of a core over a second: ready
        is not yet quiet (the control and embedding pools load the model in the background
        for their first seconds, AIOPS_KB_PRELOAD), and no bench should measure that."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            before = self._cpu_seconds()
            time.sleep(1.0)
            if self._cpu_seconds() - before < quiet:
                return
        print(f"platform: still busy {timeout:.0f} s after ready; measuring anyway", flush=True)

    def _cpu_seconds(self) -> float:
        ticks = os.sysconf("SC_CLK_TCK")
        total = 0.0
        for pids in self.pids().values():
            for pid in pids:
                try:
                    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                total += (int(fields[11]) + int(fields[12])) / ticks
        return total

    def _ready(self) -> bool:
        try:
            return requests.get(self.base + "/readyz", timeout=2).ok
        except requests.RequestException:
            return False

    @property
    def token(self) -> str:
        """The first admin's API token, from the file `make run` writes once."""
        text = (self.data_dir / "admin-credentials.txt").read_text()
        return next(
            line.split(": ", 1)[1] for line in text.splitlines() if line.startswith("api token")
        )

    @property
    def broker_url(self) -> str:
        """The embedded Redis the platform's workers take their tasks from."""
        from aiops import embedded

        return embedded.redis_url(self.data_dir)

    def wait_idle(self, timeout: float = 300) -> None:
        """Until the broker holds no task (queued, reserved or delayed): what an earlier
        measurement left behind (say, embedding a closed case) must not load the next."""
        import redis

        client = redis.Redis(unix_socket_path=self.broker_url.removeprefix("redis+socket://"))
        deadline = time.monotonic() + timeout
        while True:
            left = {queue: client.llen(queue) for queue in ("celery", "executor", "kb")}
            left["unacked"] = client.hlen("unacked")
            if not any(left.values()):
                return
            if time.monotonic() >= deadline:
                break
            time.sleep(0.2)
        waiting = ", ".join(f"{name} {count}" for name, count in left.items() if count)
        hint = (
            " The Librarian is still embedding what an earlier bench closed in this data "
            f"dir ({self.data_dir}): let it finish, or start afresh with `make bench-clean`."
            if left["kb"]
            else ""
        )
        raise RuntimeError(f"the broker still had work after {timeout}s ({waiting}).{hint}")

    def pids(self) -> dict[str, list[int]]:
        """Every process under the launcher, by its command line: for RSS readings."""
        found: dict[str, list[int]] = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                if os.getpgid(int(entry.name)) != self.proc.pid:
                    continue
                cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except (OSError, ProcessLookupError):
                continue
            found.setdefault(_role(cmd), []).append(int(entry.name))
        return found

    def stop(self, timeout: float = 60) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)  # the launcher stops its children, then PG/Redis
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _role(cmd: str) -> str:
    if "gunicorn" in cmd:
        return "web"
    if " beat" in cmd:
        return "beat"
    if "worker" in cmd:
        if "-Q kb" in cmd:
            return "worker-kb"
        return "worker-exec" if "-Q executor" in cmd else "worker-control"
    if "runplatform" in cmd:
        return "launcher"
    if cmd.rstrip().endswith("manage.py relay"):
        return "relay"
    return "other"
