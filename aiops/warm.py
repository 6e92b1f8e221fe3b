"""Ready a long-lived process before its first request or task: load what Django loads
lazily, then take the start-up heap out of the garbage collector's way.

Measured at a steady 200 transitions/s (docs/perf/transitions.md): each fresh gunicorn
worker's first full (generation 2) collections walked its whole start-up heap — Django,
DRF, Celery, the Kubernetes client's models — and took 90-180 ms, inside a request, while
the requests queued behind it waited. gc.freeze() moves every object alive now to a
permanent generation that collections never walk; what the process allocates later is
collected as before. The start-up heap lives as long as the process anyway.
"""

from __future__ import annotations

import gc


def settle_web() -> None:
    """In each web worker, once the WSGI application exists (aiops.wsgi)."""
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 — imports every view, serializer and permission
    freeze()


def freeze() -> None:
    """Collect what start-up left behind, then freeze the rest (worker processes: aiops.celery)."""
    gc.collect()
    gc.freeze()
