"""`make run`: migrate, bootstrap the first admin, then web, the control-plane and the
execution workers, and beat in the foreground, each restarted if it dies.

Ctrl-C (or SIGTERM) stops every child, then the embedded PostgreSQL and Redis.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.contrib.auth import get_user_model, password_validation
from django.core.management import call_command

from aiops import embedded, tokens
from aiops.entrypoint import QUIET_WORKER

CREDENTIALS_FILE = "admin-credentials.txt"


def bootstrap_admin(stdout) -> None:
    """Create the first superuser and an API token once; print them and save them 0600.

    The password passes AUTH_PASSWORD_VALIDATORS (checked: a failure is a bug here, not a
    reason to start with a weaker one); the token lives settings.ADMIN_TOKEN_TTL_HOURS. The
    key is shown only here and in the file: the database keeps its digest.
    """
    path = settings.DATA_DIR / CREDENTIALS_FILE
    user_model = get_user_model()
    if user_model.objects.filter(is_superuser=True).exists():
        stdout.write(f"Admin already exists; its first credentials are in {path}\n")
        return
    username = os.environ.get("AIOPS_ADMIN_USER", "admin")
    password = secrets.token_urlsafe(18)
    password_validation.validate_password(password, user_model(username=username))
    user = user_model.objects.create_superuser(username=username, email="", password=password)
    key = tokens.issue(user, hours=settings.ADMIN_TOKEN_TTL_HOURS)
    text = f"username: {username}\npassword: {password}\napi token: {key}\n"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    banner = "=" * 64
    stdout.write(f"{banner}\nFirst admin created (shown once; saved to {path}):\n{text}{banner}\n")


def reset_metrics_dir() -> None:
    # Counters of processes from an earlier run would otherwise be summed into this one.
    shutil.rmtree(settings.PROMETHEUS_MULTIPROC_DIR, ignore_errors=True)
    settings.PROMETHEUS_MULTIPROC_DIR.mkdir(parents=True, exist_ok=True)


def children() -> dict[str, list[str]]:
    bin_dir = os.path.dirname(sys.executable)
    port = os.environ.get("PORT", "8000")
    bind = os.environ.get("AIOPS_BIND", "127.0.0.1")
    manage = str(settings.BASE_DIR / "manage.py")
    return {
        "web": [
            os.path.join(bin_dir, "gunicorn"),
            "aiops.wsgi:application",
            f"--bind={bind}:{port}",
            # Sync workers wait on the database while the cores have work: on 2 cores, 4 held
            # a steady 200 transitions/s at p99 25 ms where 2 queued them (p99 350 ms; 6: 84).
            f"--workers={os.environ.get('WEB_CONCURRENCY', '4')}",
            "--access-logfile=-",
            "--graceful-timeout=10",
        ],
        # The control plane (relay, deliveries, gate, verification, sweeps), step execution
        # and embedding in separate pools: a long step never holds up an approval, and no
        # step waits for a free process behind the Librarian's embedding, which runs as
        # background work (aiops.background: AIOPS_KB_NICE, AIOPS_KB_IDLE): the loop comes first.
        "worker-control": _worker(bin_dir, settings.CONTROL_QUEUE, "CELERY_CONTROL_CONCURRENCY"),
        "worker-exec": _worker(bin_dir, settings.EXEC_QUEUE, "CELERY_EXEC_CONCURRENCY"),
        "worker-kb": [
            sys.executable,
            "-m",
            "aiops.background",
            str(settings.KB_NICE),
            "1" if settings.KB_IDLE else "0",
            "--",
            *_worker(bin_dir, settings.KB_QUEUE, "CELERY_KB_CONCURRENCY", default="1"),
        ],
        # The outbox's relay, woken by writers (apps.cases.relayd).
        **({"relay": [sys.executable, manage, "relay"]} if relay_process_wanted() else {}),
        "beat": [
            os.path.join(bin_dir, "celery"),
            "-A",
            "aiops",
            "beat",
            "--scheduler=django_celery_beat.schedulers:DatabaseScheduler",
            "--loglevel=INFO",
        ],
    }


def relay_process_wanted() -> bool:
    """AIOPS_OUTBOX_RELAY_PROCESS, on unless turned off: `make run` starts the relay process
    (apps.cases.relayd). The settings' default is off, for processes no launcher started."""
    value = os.environ.get("AIOPS_OUTBOX_RELAY_PROCESS", "1").strip().lower()
    return value not in {"0", "false", "no", "off", ""}


def _worker(bin_dir: str, queue: str, concurrency_env: str, default: str = "") -> list[str]:
    concurrency = os.environ.get(concurrency_env) or default
    concurrency = concurrency or os.environ.get("CELERY_CONCURRENCY", "2")
    return [
        os.path.join(bin_dir, "celery"),
        "-A",
        "aiops",
        "worker",
        "-Q",
        queue,
        f"--hostname={queue.split(',')[0]}@%h",
        f"--concurrency={concurrency}",
        "--loglevel=INFO",
        *QUIET_WORKER,
    ]


class Supervisor:
    """Keep each child running, as a process manager would: one that dies is started again
    after a backoff that doubles (1 s … BACKOFF_MAX s) while it keeps dying young, and is
    reset once it has run STABLE_S. Every exit and restart is logged."""

    BACKOFF_MIN, BACKOFF_MAX, STABLE_S = 1.0, 30.0, 60.0

    def __init__(self, argvs: dict[str, list[str]], stdout, popen=subprocess.Popen, clock=None):
        self.argvs, self.stdout, self.popen = argvs, stdout, popen
        self.clock = clock or time.monotonic
        self.procs: dict[str, subprocess.Popen | None] = {}
        self.started: dict[str, float] = {}
        self.backoff = dict.fromkeys(argvs, self.BACKOFF_MIN)
        self.restart_at: dict[str, float] = {}
        self.restarts = dict.fromkeys(argvs, 0)

    def start_all(self) -> None:
        for name in self.argvs:
            self._start(name)

    def _start(self, name: str) -> None:
        self.procs[name] = self.popen(self.argvs[name])
        self.started[name] = self.clock()

    def tick(self) -> None:
        """Notice exits and start what is due (called every half second)."""
        now = self.clock()
        for name, proc in self.procs.items():
            if proc is not None and proc.poll() is not None:
                ran = now - self.started[name]
                if ran >= self.STABLE_S:
                    self.backoff[name] = self.BACKOFF_MIN
                delay = self.backoff[name]
                self.stdout.write(
                    f"{name} exited with {proc.returncode} after {ran:.0f} s; "
                    f"restarting in {delay:.0f} s\n"
                )
                self.procs[name] = None
                self.restart_at[name] = now + delay
                self.backoff[name] = min(self.BACKOFF_MAX, delay * 2)
        for name, due in list(self.restart_at.items()):
            if now >= due:
                del self.restart_at[name]
                self.restarts[name] += 1
                self._start(name)
                self.stdout.write(f"{name} restarted (restart {self.restarts[name]})\n")

    def stop_all(self, timeout: float = 20) -> None:
        live = [p for p in self.procs.values() if p is not None and p.poll() is None]
        for proc in live:
            proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for proc in live:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def run(stdout) -> int:
    call_command("migrate", interactive=False, verbosity=0)
    call_command("seed_gate_policy")
    call_command("seed_analyst_rules")
    call_command("collectstatic", interactive=False, verbosity=0)
    bootstrap_admin(stdout)
    reset_metrics_dir()
    # Every child reads the same answer: writers wake the relay process only if it runs.
    os.environ["AIOPS_OUTBOX_RELAY_PROCESS"] = "1" if relay_process_wanted() else "0"
    supervisor = Supervisor(children(), stdout)
    supervisor.start_all()
    port = os.environ.get("PORT", "8000")
    stdout.write(f"aiops is up: http://127.0.0.1:{port}/admin/  (Ctrl-C stops everything)\n")

    stopping = False

    def stop(signum, frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    while not stopping:
        supervisor.tick()
        time.sleep(0.5)
    supervisor.stop_all()
    if settings.EMBEDDED_SERVICES:
        from django.db import connections

        connections.close_all()
        embedded.stop_all(settings.DATA_DIR)
        stdout.write("embedded PostgreSQL and Redis stopped\n")
    return 0
