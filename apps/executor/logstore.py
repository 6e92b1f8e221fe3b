"""Log store port: a step attempt's stdout/stderr as local files under settings.EXEC_LOG_DIR.

`save()` writes at most EXEC_LOG_MAX_BYTES per stream and returns a reference (a path
relative to the log directory) kept in exec_step; `read()` returns the text behind a
reference, optionally only its tail. Another store (S3, Loki) would keep the same two calls.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings

TRUNCATED = b"\n[log truncated]\n"


def _root() -> Path:
    return Path(settings.EXEC_LOG_DIR).resolve()


def save(*, run_id, step_pk: int, stream: str, data: bytes) -> str:
    if not data:
        return ""
    cap = settings.EXEC_LOG_MAX_BYTES
    if len(data) > cap:
        data = data[:cap] + TRUNCATED
    ref = f"{run_id}/{step_pk}.{stream}.log"
    path = _root() / ref
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return ref


def read(ref: str, *, tail_bytes: int | None = None) -> str:
    if not ref:
        return ""
    root = _root()
    path = (root / ref).resolve()
    if root not in path.parents or not path.is_file():
        return ""
    with path.open("rb") as handle:
        if tail_bytes is not None:
            size = path.stat().st_size
            handle.seek(max(0, size - tail_bytes))
        return handle.read().decode("utf-8", errors="replace")
