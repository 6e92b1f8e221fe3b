"""Thin Celery tasks of the Librarian (queue "kb", taken by the embedding worker)."""

import logging
import time

from celery import shared_task
from django.conf import settings

from apps.kb import quiet, services

log = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def embed_chunks(doc_ids: list[int] | None = None) -> int:
    """Embed the chunks of these documents (all, without ids) that have no embedding of the
    current model; queued on commit by every ingest. Idempotent: a rerun finds nothing.

    It first waits, at most AIOPS_KB_EMBED_DEFER_S, for the cores to be less than
    AIOPS_KB_QUIET_SHARE busy (apps.kb.quiet), then embeds every pending chunk, so that the
    tasks queued behind it during a burst of closed cases find nothing to do."""
    if not services.pending_chunks(doc_ids).exists():
        return 0
    started = time.monotonic()
    quieted = quiet.wait_for_quiet(
        started + settings.KB_EMBED_DEFER_S,
        threshold=settings.KB_QUIET_SHARE,
        interval=QUIET_INTERVAL_S,
    )
    waited = time.monotonic() - started
    if waited >= QUIET_INTERVAL_S:
        log.info("kb: waited %.1f s for the cores (%s)", waited, "quiet" if quieted else "bound")
    return services.chunks_embed()


# Long enough to tell a quiet moment from a pause between two requests.
QUIET_INTERVAL_S = 0.25
