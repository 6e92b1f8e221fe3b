"""The container's entry point (`python -m aiops.entrypoint`): AIOPS_ROLE picks the process.

One image runs every role (docker/Dockerfile, docker/compose.yaml, deploy/k8s/): the web, the
control-plane worker (queue `celery`: relay, deliveries, gate, verification, sweeps), the
execution worker (queue `executor`: steps), the Librarian's embedding worker (queue `kb`),
the outbox's relay process (apps.cases.relayd), beat, or all of them as `make run` does. Roles
that own the schema migrate first, under a PostgreSQL advisory lock, so that replicas
starting together migrate once; then this process becomes the role's server (os.execvp), so
the container runtime's signals reach it directly. `migrate` migrates and exits (a
Kubernetes init container). docs/operations.md says which roles may run more than once.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
ROLES = ("web", "worker-control", "worker-exec", "worker-kb", "relay", "beat", "all", "migrate")
# The web and beat (its DatabaseScheduler reads its own tables) wait for the schema they
# need; `all` is `make run`. Workers do not migrate: compose starts them once the web is
# ready, Kubernetes gives them a `migrate` init container.
MIGRATING_ROLES = frozenset({"web", "beat", "all", "migrate"})
# One key for every aiops database: "aiops-mg" as a signed 64-bit integer.
BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
MIGRATION_LOCK_KEY = int.from_bytes(b"aiops-mg", "big", signed=True)


class UnknownRole(ValueError):
    pass


# Celery's worker-to-worker chatter, which nothing here uses (no revokes to sync, no
# monitor reading heartbeats): with it, one more worker joining the broker (the benches'
# floor worker, idle) took the outbox's p99 at 500 events/s from 15-20 ms to 157-438 ms.
QUIET_WORKER = ("--without-gossip", "--without-mingle", "--without-heartbeat")


def argv_for(role: str, env: Mapping[str, str]) -> list[str]:
    """The command the role runs, from the environment it is given; [] for `migrate`.

    Raises UnknownRole for anything but ROLES.
    """
    python = sys.executable
    log_level = env.get("AIOPS_LOG_LEVEL", "INFO")
    celery = [python, "-m", "celery", "-A", "aiops"]
    pool = {
        "worker-control": "CELERY_CONTROL_CONCURRENCY",
        "worker-exec": "CELERY_EXEC_CONCURRENCY",
        "worker-kb": "CELERY_KB_CONCURRENCY",
    }
    default = "1" if role == "worker-kb" else env.get("CELERY_CONCURRENCY", "2")
    concurrency = env.get(pool.get(role, ""), "") or default
    worker_options = [f"--concurrency={concurrency}", f"--loglevel={log_level}", *QUIET_WORKER]
    if role == "web":
        bind = env.get("AIOPS_BIND", "0.0.0.0")  # noqa: S104 — a container's port
        return [
            python,
            "-m",
            "gunicorn",
            "aiops.wsgi:application",
            f"--bind={bind}:{env.get('PORT', '8000')}",
            f"--workers={env.get('WEB_CONCURRENCY', '4')}",
            "--access-logfile=-",
            "--graceful-timeout=10",
            # Nothing uses gunicorn's control socket; it would need a writable $HOME.
            "--no-control-socket",
        ]
    if role == "worker-control":
        return [*celery, "worker", "-Q", "celery", "--hostname=control@%h", *worker_options]
    if role == "worker-exec":
        return [*celery, "worker", "-Q", "executor", "--hostname=exec@%h", *worker_options]
    if role == "worker-kb":
        # Below the other processes of a shared host: embedding is never in a hurry.
        idle = env.get("AIOPS_KB_IDLE", "1").strip().lower() not in {"0", "false", "no", "off"}
        background = [python, "-m", "aiops.background", env.get("AIOPS_KB_NICE", "10")]
        background += ["1" if idle else "0", "--"]
        return [*background, *celery, "worker", "-Q", "kb", "--hostname=kb@%h", *worker_options]
    if role == "relay":
        return [python, str(BASE_DIR / "manage.py"), "relay"]
    if role == "beat":
        return [*celery, "beat", f"--scheduler={BEAT_SCHEDULER}", f"--loglevel={log_level}"]
    if role == "all":
        return [python, str(BASE_DIR / "manage.py"), "runplatform"]
    if role == "migrate":
        return []
    raise UnknownRole(
        f"AIOPS_ROLE must be one of {', '.join(ROLES)}; got {role!r}"
        if role
        else f"AIOPS_ROLE is not set; set it to one of {', '.join(ROLES)}"
    )


@contextlib.contextmanager
def migration_lock() -> Iterator[None]:
    """Hold the migration advisory lock (session level) on Django's default connection.

    A second holder waits in PostgreSQL until the first releases it or its session ends (a
    killed container frees it with its connection).
    """
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [MIGRATION_LOCK_KEY])
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [MIGRATION_LOCK_KEY])


def migrate_under_lock() -> None:
    """Apply migrations and seed the gate policy and analyst rules, one process at a time.

    The second replica to get the lock finds nothing left to do.
    """
    from django.core.management import call_command

    with migration_lock():
        call_command("migrate", interactive=False, verbosity=1)
        call_command("seed_gate_policy")
        call_command("seed_analyst_rules")


def environment_for(role: str, env: Mapping[str, str]) -> dict[str, str]:
    """The environment the role's process gets: `all` runs its worker and beat in one
    container, where the web's /metrics already sums them, and two metrics servers would
    fight over one port."""
    if role == "all":
        return {k: v for k, v in env.items() if k != "AIOPS_WORKER_METRICS_PORT"}
    return dict(env)


def healthcheck_url(role: str, env: Mapping[str, str]) -> str | None:
    """What the image's HEALTHCHECK asks: the web's /healthz, a worker's, the relay's or
    beat's metrics port when it serves one; None when the role has nothing to ask."""
    if role in {"web", "all"}:
        return f"http://127.0.0.1:{env.get('PORT', '8000')}/healthz"
    port = env.get("AIOPS_WORKER_METRICS_PORT", "0")
    served = {"worker-control", "worker-exec", "worker-kb", "relay", "beat"}
    if role in served and port not in {"", "0"}:
        return f"http://127.0.0.1:{port}/metrics"
    return None


def healthcheck() -> int:
    """`python -m aiops.entrypoint healthcheck`: 0 when this container's role answers."""
    url = healthcheck_url(os.environ.get("AIOPS_ROLE", ""), os.environ)
    if url is None:
        return 0
    try:
        with urllib.request.urlopen(url, timeout=4) as response:  # noqa: S310 — our own URL
            return 0 if response.status == 200 else 1
    except OSError as exc:
        print(f"aiops healthcheck: {url}: {exc}", file=sys.stderr)
        return 1


def _reset_metrics_dir() -> None:
    # This container's own processes are counted from zero, as `make run` does; a restarted
    # container keeps its pod's data dir.
    from django.conf import settings

    shutil.rmtree(settings.PROMETHEUS_MULTIPROC_DIR, ignore_errors=True)
    settings.PROMETHEUS_MULTIPROC_DIR.mkdir(parents=True, exist_ok=True)


def main() -> int:
    """Check the role, migrate if it owns the schema, then become its process (no return)."""
    role = os.environ.get("AIOPS_ROLE", "")
    try:
        command = argv_for(role, os.environ)
    except UnknownRole as exc:
        print(f"aiops.entrypoint: {exc}", file=sys.stderr)
        return 2
    from aiops import bootstrap

    bootstrap.prepare()
    import django

    django.setup()
    if role in MIGRATING_ROLES:
        migrate_under_lock()
    if not command:
        return 0
    if role != "all":  # runplatform resets it itself
        _reset_metrics_dir()
    from django.db import connections

    connections.close_all()
    sys.stdout.flush()
    os.execvpe(command[0], command, environment_for(role, os.environ))  # noqa: S606 — our argv
    return 1  # not reached: execvp replaces this process or raises


if __name__ == "__main__":
    sys.exit(healthcheck() if sys.argv[1:] == ["healthcheck"] else main())
