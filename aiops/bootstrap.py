"""What every entry point does before Django sets itself up: `prepare()`.

Settings only read the environment, so the effects a process of the checkout needs happen
here, called by the entry points: manage.py, aiops.wsgi, the Celery worker and beat (see
aiops.celery), the test suite's plugin (tests/plugin.py) and the benches. Children of the
launcher and of the tests inherit the environment `prepare()` set and reach the same servers.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from pathlib import Path

from aiops import embedded

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY_FILE = "secret_key"  # noqa: S105 — the file's name, not a key


def data_dir() -> Path:
    """AIOPS_DATA_DIR (default: var/ in the checkout), absolute. Read, never created."""
    return Path(os.environ.get("AIOPS_DATA_DIR", str(BASE_DIR / "var"))).resolve()


def read_secret_key(directory: Path) -> str:
    """The key `prepare()` generated for this data dir, or "" before it did."""
    path = directory / SECRET_KEY_FILE
    return path.read_text().strip() if path.exists() else ""


def prepare() -> None:
    """Make this process's data dir usable; idempotent, safe for processes racing each other.

    Creates the data dir and its secret key (0600, unless DJANGO_SECRET_KEY is set) before
    the settings read them, then the directories the settings name (Prometheus multiprocess,
    static root, step logs); puts PROMETHEUS_MULTIPROC_DIR in the environment (prometheus_client
    reads it once, when imported); starts the embedded PostgreSQL/Redis the settings use.
    Must run before django.setup(): Django's apps import prometheus_client.
    """
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aiops.settings")
    directory = data_dir()
    directory.mkdir(parents=True, exist_ok=True)
    if not os.environ.get("DJANGO_SECRET_KEY"):
        _write_secret_key(directory / SECRET_KEY_FILE)

    from django.conf import settings

    for path in (settings.PROMETHEUS_MULTIPROC_DIR, settings.STATIC_ROOT, settings.EXEC_LOG_DIR):
        Path(path).mkdir(parents=True, exist_ok=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(settings.PROMETHEUS_MULTIPROC_DIR)
    if settings.EMBEDDED_SERVICES:
        embedded.ensure_all(
            settings.DATA_DIR, postgres=settings.EMBEDDED_POSTGRES, redis=settings.EMBEDDED_REDIS
        )


def _write_secret_key(path: Path) -> None:
    # Never a shared default: one random key per data dir, made by the first process.
    if path.exists():
        return
    # Written aside, then linked into place: a racing process sees all of it or nothing.
    fd, draft = tempfile.mkstemp(dir=path.parent)  # mkstemp makes it 0600
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_urlsafe(50))
    try:
        os.link(draft, path)
    except FileExistsError:
        pass  # another process of this data dir made it first
    finally:
        os.unlink(draft)
