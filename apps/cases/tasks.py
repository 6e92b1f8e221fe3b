"""Thin Celery tasks over the relay."""

import logging

from celery import shared_task
from django.conf import settings

from apps.cases import metrics, relay

log = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def relay_outbox() -> int:
    """Drain the outbox: batches until one comes back short (kicked on commit, swept by beat)."""
    relay.relay_starting()
    total = 0
    while True:
        count = relay.relay_once()
        total += count
        if count < settings.OUTBOX_BATCH_SIZE:
            break
    relay.confirm_deliveries()
    return total


@shared_task(ignore_result=True, acks_late=True, reject_on_worker_lost=True)
def deliver_to_subscribers(subscribers: list[str], event_id: str) -> dict:
    """Apply one event to all its subscribers in one task and one transaction (a savepoint
    and an inbox row each), rather than a task and a commit apiece: most of an event's
    subscribers have nothing to do, and their hand-offs delayed the one that moves the case.
    A subscriber that raises goes on alone as deliver_event (as its first retry, after the
    backoff), so it neither holds back nor re-runs the others."""
    outcomes, failures = relay.apply_event_to_all(subscribers, event_id)
    for name, exc in failures.items():
        metrics.handler_failures_total.labels(subscriber=name).inc()
        if settings.HANDLER_MAX_RETRIES < 1:
            log.error("subscriber %s gave up on event %s: %s", name, event_id, exc)
            relay.give_up(name, event_id, f"{type(exc).__name__}: {exc}")
            outcomes[name] = "failed"
            continue
        log.warning("subscriber %s failed on event %s (%s); retrying", name, event_id, exc)
        deliver_event.apply_async(
            args=(name, event_id), retries=1, countdown=settings.HANDLER_RETRY_BACKOFF_SECONDS
        )
        outcomes[name] = "retrying"
    return outcomes


@shared_task(bind=True, ignore_result=True, acks_late=True, reject_on_worker_lost=True)
def deliver_event(self, subscriber: str, event_id: str) -> str:
    """Apply one event to one subscriber; after the last retry, park the case with the error."""
    try:
        return relay.apply_event(subscriber, event_id)
    except Exception as exc:
        metrics.handler_failures_total.labels(subscriber=subscriber).inc()
        if self.request.retries >= settings.HANDLER_MAX_RETRIES:
            log.exception("subscriber %s gave up on event %s", subscriber, event_id)
            relay.give_up(subscriber, event_id, f"{type(exc).__name__}: {exc}")
            return "failed"
        countdown = settings.HANDLER_RETRY_BACKOFF_SECONDS * (2**self.request.retries)
        raise self.retry(
            exc=exc, countdown=countdown, max_retries=settings.HANDLER_MAX_RETRIES
        ) from exc


@shared_task(ignore_result=True)
def retention() -> dict:
    """Bounded growth (beat, hourly): every module's expiry, archive before delete."""
    from apps.cases.retention import run_retention

    return run_retention()
