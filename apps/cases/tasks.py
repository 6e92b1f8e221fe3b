"""Thin Celery tasks over the relay."""

import logging
import time

from celery import shared_task
from django.conf import settings

from aiops.sweeps import first_in_window
from apps.cases import metrics, relay

log = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def relay_outbox() -> int:
    """Drain the outbox (kicked on commit, swept by beat): see `drain`."""
    return drain()


def drain(*, kick_flag: bool = True) -> int:
    """Relay batches until one comes back short, or, when the run applies deliveries itself
    (settings.OUTBOX_RELAY_APPLIES), empty; return how many events it published.

    `kick_flag`: writers queue no relay task while the flag is up (relay.request_relay), so
    a task lowers it before its last look. The relay process (apps.cases.relayd) has no flag:
    a writer's wake waits for its next look."""
    applying = settings.OUTBOX_RELAY_APPLIES
    total = 0
    flag_up = kick_flag
    with relay.kicks_deferred() as kicks:
        while True:
            kicks.clear()
            count = relay.relay_once(apply_here=applying)
            total += count
            if count == settings.OUTBOX_BATCH_SIZE:
                continue  # a backlog
            if flag_up:
                # Until now the kick flag stayed up, so writers committing meanwhile queued
                # no run: lowered, then another look, which sees everything they committed.
                relay.relay_finishing()
                flag_up = False
                continue
            # A run that applied its deliveries itself looks again until nothing is left:
            # the events those deliveries committed, and a later event of one of its cases
            # that waited for it (per-case order), are taken here, with no relay run of
            # their own.
            if count == 0 or not applying:
                break
    if kicks:  # the last look committed events, or gave some back: a run for them
        relay.request_relay()
    if _confirm_due() and first_in_window("confirm-deliveries", CONFIRM_EVERY):
        relay.confirm_deliveries()
    return total


CONFIRM_EVERY = 1  # seconds: confirm_deliveries runs once a window, in whichever process
_confirm_asked = [float("-inf")]


def _confirm_due() -> bool:
    """Whether to ask Redis for this window: a run per event under load would ask dozens of
    times a second for a window that opens once. A process asks at most once a window; the
    window still opens every second in some process, or within two in this one."""
    now = time.monotonic()
    if now - _confirm_asked[0] < CONFIRM_EVERY:
        return False
    _confirm_asked[0] = now
    return True


@shared_task(ignore_result=True, acks_late=True, reject_on_worker_lost=True)
def deliver_events(pairs: list[list[str]]) -> int:
    """Apply a batch of (subscriber, event id) deliveries (relay.apply_events: a case's
    consecutive ones in one transaction, each under its own savepoint). One
    that fails goes on alone as `deliver_event`, its first retry (the same backoff and the
    same last resort). A worker killed mid-batch has its message delivered again: what it had
    applied is in the inbox, and counts as done."""
    failed = relay.apply_events([(subscriber, event_id) for subscriber, event_id in pairs])
    after_failures(failed)
    return len(pairs) - len(failed)


def after_failures(failed: list[tuple[str, str, Exception]]) -> None:
    """Deliveries of a batch that raised: each goes on alone as `deliver_event`, its first
    retry; with no retries allowed, its case parks at once."""
    for subscriber, event_id, exc in failed:
        metrics.handler_failures_total.labels(subscriber=subscriber).inc()
        if settings.HANDLER_MAX_RETRIES <= 0:
            log.error("subscriber %s gave up on event %s: %r", subscriber, event_id, exc)
            relay.give_up(subscriber, event_id, f"{type(exc).__name__}: {exc}")
            continue
        log.warning("subscriber %s failed on event %s, retrying: %r", subscriber, event_id, exc)
        deliver_event.apply_async(
            args=(subscriber, event_id), countdown=settings.HANDLER_RETRY_BACKOFF_SECONDS, retries=1
        )


@shared_task(bind=True, ignore_result=True, acks_late=True, reject_on_worker_lost=True)
def deliver_event(self, subscriber: str, event_id: str) -> str:
    """Apply one event to one subscriber (a batch's failed delivery, retried); after the last
    retry, park the case with the error."""
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
