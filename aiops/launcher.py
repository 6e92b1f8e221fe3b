"""`make run`: migrate, bootstrap the first admin, then web + worker + beat in the foreground.

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
    return {
        "web": [
            os.path.join(bin_dir, "gunicorn"),
            "aiops.wsgi:application",
            f"--bind={bind}:{port}",
            f"--workers={os.environ.get('WEB_CONCURRENCY', '2')}",
            "--access-logfile=-",
            "--graceful-timeout=10",
        ],
        "worker": [
            os.path.join(bin_dir, "celery"),
            "-A",
            "aiops",
            "worker",
            "-Q",
            "celery,executor",
            f"--concurrency={os.environ.get('CELERY_CONCURRENCY', '2')}",
            "--loglevel=INFO",
        ],
        "beat": [
            os.path.join(bin_dir, "celery"),
            "-A",
            "aiops",
            "beat",
            "--scheduler=django_celery_beat.schedulers:DatabaseScheduler",
            "--loglevel=INFO",
        ],
    }


def run(stdout) -> int:
    call_command("migrate", interactive=False, verbosity=0)
    call_command("seed_gate_policy")
    call_command("seed_analyst_rules")
    call_command("collectstatic", interactive=False, verbosity=0)
    bootstrap_admin(stdout)
    reset_metrics_dir()
    procs = {name: subprocess.Popen(argv) for name, argv in children().items()}
    port = os.environ.get("PORT", "8000")
    stdout.write(f"aiops is up: http://127.0.0.1:{port}/admin/  (Ctrl-C stops everything)\n")

    stopping = False

    def stop(signum, frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    exit_code = 0
    while not stopping:
        for name, proc in procs.items():
            if proc.poll() is not None:
                stdout.write(f"{name} exited with {proc.returncode}; stopping the rest\n")
                stopping, exit_code = True, 1
        time.sleep(0.5)
    for proc in procs.values():
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 20
    for proc in procs.values():
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if settings.EMBEDDED_SERVICES:
        from django.db import connections

        connections.close_all()
        embedded.stop_all(settings.DATA_DIR)
        stdout.write("embedded PostgreSQL and Redis stopped\n")
    return exit_code
