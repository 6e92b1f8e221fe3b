"""Outbox relay and subscriber delivery: at-least-once out, exactly-once applied.

relay_once() claims a batch of unpublished rows with a short lease (FOR UPDATE SKIP LOCKED,
so relays run side by side), commits the claim, hands each event to every sink outside
any transaction (a relay run applies a batch that is not full itself, each case's
deliveries in a transaction of their own), and only then marks the rows published. A relay
that dies mid-batch leaves its claim to expire; the next relay publishes those rows again,
and the inbox makes the duplicates harmless. Events of one case leave in order: a relay
does not claim a row whose case has an earlier row under another relay's claim, and gives
back any it took while such a claim was being made.
"""

from __future__ import annotations

import itertools
import logging
import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from aiops import rows as aiops_rows
from aiops.backoff import next_resend, oldest_waiting
from apps.cases import events, metrics, sinks
from apps.cases.models import Inbox, Outbox

log = logging.getLogger(__name__)

# Rows behind an earlier event of their case that another relay holds are not even locked:
# that relay takes them once it has published the earlier one (relay_outbox looks again),
# which it could not do while this claim held them locked (SKIP LOCKED would pass them by).
# One statement, in autocommit: the claim, the claimed rows, and for each whether its case
# has an earlier unpublished row this claim does not hold. That row may be under another
# relay's claim not yet committed when this one looked (SKIP LOCKED passed it by); the
# rows of such a case are given back. The check reads the statement's snapshot, in which
# the claimed rows are still unpublished, so it leaves them out by seq (and reads only the
# case's unpublished rows, through outbox_unpublished_subject_idx).
# Its commit does not wait for the WAL flush when it runs alone (aiops.rows.relaxed_commit):
# a lease lost in a crash only lets another relay claim the rows again.
CLAIM = """
WITH {relaxed} claimed AS (
    UPDATE outbox SET claimed_until = %(until)s, claimed_by = %(me)s, attempts = attempts + 1
    {from_relaxed}
    WHERE seq IN (
        SELECT c.seq FROM outbox c
        WHERE c.published_at IS NULL AND (c.claimed_until IS NULL OR c.claimed_until < %(now)s)
        {only}
        AND NOT EXISTS (
            SELECT 1 FROM outbox o
            WHERE o.published_at IS NULL AND o.subject = c.subject AND o.seq < c.seq
            AND o.claimed_until >= %(now)s
        )
        ORDER BY c.seq LIMIT %(limit)s
        FOR UPDATE OF c SKIP LOCKED
    )
    RETURNING {columns}
)
SELECT claimed.*, EXISTS (
    SELECT 1 FROM outbox o
    WHERE o.published_at IS NULL AND o.subject = claimed.subject AND o.seq < claimed.seq
    AND o.seq NOT IN (SELECT seq FROM claimed)
) FROM claimed ORDER BY claimed.seq
"""


KICK_KEY = "aiops:relay:kick"
_redis_client = None


def _redis():
    global _redis_client
    if _redis_client is None:
        _redis_client = redis_client(socket_timeout=2)
    return _redis_client


def redis_client(*, socket_timeout: float):
    import redis

    url = settings.REDIS_URL
    if url.startswith("redis+socket://"):  # kombu's spelling of a unix socket
        url = "unix://" + url.removeprefix("redis+socket://")
    return redis.Redis.from_url(url, socket_timeout=socket_timeout)


# Set inside a relay run that looks again until nothing is left (relay_outbox): the events
# its own deliveries commit are claimed by its next look, so they need no relay run of their
# own. The run kicks once at its end if its last look left any.
_kicks_deferred: ContextVar[list | None] = ContextVar("relay_kicks_deferred", default=None)


@contextmanager
def kicks_deferred() -> Iterator[list]:
    """Inside: request_relay() only notes the kick in the list it yields."""
    noted: list = []
    token = _kicks_deferred.set(noted)
    try:
        yield noted
    finally:
        _kicks_deferred.reset(token)


def request_relay() -> None:
    """Queue a relay run unless one is queued or running and has not yet made its last look
    (called after commit).

    A relay run lowers the flag only when it would stop, and then looks once more: an event
    committed while the flag was up is claimed by that look. The flag's short expiry covers
    a relay task that was lost (or killed) before it lowered it.
    """
    import redis

    noted = _kicks_deferred.get()
    if noted is not None:
        noted.append(True)
        return
    if settings.OUTBOX_RELAY_PROCESS:
        wake()
        return

    from apps.cases.tasks import relay_outbox

    try:
        first = _redis().set(KICK_KEY, "1", nx=True, px=settings.OUTBOX_KICK_TTL_MS)
    except redis.RedisError:
        first = True  # cannot tell: queue one, a spare relay run is harmless
    if first:
        relay_outbox.delay()


# The relay process's wake-up (settings.OUTBOX_RELAY_PROCESS): a list of at most one item.
# A writer pushes after its commit; the process pops before it looks, so a push it has not
# popped means a commit its last look may have missed, and it looks again. Nothing is lost
# while the process restarts: the item waits in Redis.
WAKE_KEY = "aiops:relay:wake"


def wake() -> None:
    """Wake the relay process (one round trip). Without Redis, its next idle look takes the
    events (settings.OUTBOX_RELAY_IDLE_LOOK)."""
    import redis

    try:
        _redis().pipeline(transaction=False).lpush(WAKE_KEY, 1).ltrim(WAKE_KEY, 0, 0).execute()
    except redis.RedisError:
        log.warning("relay: could not wake the relay process; its next idle look relays")


def wait_for_wake(client, timeout: float) -> bool:
    """Block until a writer wakes the relay process or `timeout` seconds pass; True if woken."""
    return client.blpop([WAKE_KEY], timeout=timeout) is not None


def relay_finishing() -> None:
    import redis

    try:
        _redis().delete(KICK_KEY)
    except redis.RedisError:
        log.warning("relay: could not clear the kick flag; the next kick waits for its expiry")


def relay_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def relay_committed(seqs: list[int]) -> None:
    """After a commit that wrote the outbox rows `seqs`: relay them here and now
    (settings.OUTBOX_RELAY_INLINE), saving the hop through a relay run; whatever this does
    not publish (another relay holds an earlier event of the same case, the broker said no,
    an error) is left to a relay run, kicked as before."""
    if settings.OUTBOX_RELAY_INLINE and seqs:
        try:
            if relay_once(only=seqs) == len(seqs):
                return
        except Exception:
            log.exception("relay: publishing committed events inline failed; a relay run will")
    request_relay()


def relay_once(
    *, limit: int | None = None, only: list[int] | None = None, apply_here: bool = False
) -> int:
    """Relay one batch (of the rows `only`, when given); return how many events it
    published.

    With `apply_here` (a relay run, itself a task on the control pool), a batch that is not
    full has its deliveries applied here, before its rows are marked published, instead of
    queued as `deliver_events` tasks: one Celery message and hop fewer per event. A full
    batch means a backlog, whose deliveries fan out over the pool's processes. A delivery
    that raises is retried as `deliver_event`, as from a task. A relay killed mid-batch
    leaves its claim to expire; the next relay sends the batch again, and the inbox makes
    what was already applied a no-op."""
    limit = limit or settings.OUTBOX_BATCH_SIZE
    me = relay_id()
    now = timezone.now()
    until = now + timedelta(seconds=settings.OUTBOX_CLAIM_SECONDS)
    relaxed = aiops_rows.relaxed_commit()
    claim = CLAIM.format(
        relaxed=f"{aiops_rows.RELAXED}," if relaxed else "",
        from_relaxed="FROM relaxed" if relaxed else "",
        only="AND c.seq = ANY(%(only)s)" if only is not None else "",
        columns=aiops_rows.columns(Outbox),
    )
    params = {"until": until, "me": me, "now": now, "limit": limit, "only": only}
    found = aiops_rows.run(claim, params)
    if not found:
        return 0
    rows = [aiops_rows.build(Outbox, row[:-1]) for row in found]
    blocked = {row.subject for row, (*_, behind) in zip(rows, found, strict=True) if behind}
    if blocked:
        given_back = [row.seq for row in rows if row.subject in blocked]
        aiops_rows.update_where(
            Outbox,
            {"claimed_until": None, "claimed_by": ""},
            {"seq": given_back, "claimed_by": me},
            bookkeeping=True,
        )
        rows = [row for row in rows if row.subject not in blocked]
        # Another relay's claim of an earlier event was not yet committed when this one
        # looked: it may have looked for more before this gave them back. A relay run
        # after this commit sees its claim and leaves them to it, or takes them.
        request_relay()
    pairs = [
        (row.subject, sub.name, str(row.event_id))
        for row in rows
        for sub in events.subscribers_for(row.type, row.data)
    ]
    unsent: dict[str, str] = {}
    # Events every delivery of which is in the inbox once this returns: no subscriber wants
    # them, or this run applied them all. They are marked delivered as they are published,
    # so confirm_deliveries has nothing left to check (nor an UPDATE of its own to make).
    done = {str(row.event_id) for row in rows} - {event_id for _, _, event_id in pairs}
    if apply_here and pairs and len(found) < limit:  # a full batch: a backlog
        from apps.cases.tasks import after_failures

        by_id = {str(row.event_id): row for row in rows}
        failed = apply_events([(name, event_id) for _, name, event_id in pairs], by_id)
        after_failures(failed)
        done = set(by_id) - {event_id for _, event_id, _ in failed}
    else:
        unsent = send_deliveries(pairs)
    published: list[int] = []
    failed_subjects: set[str] = set()
    for row in rows:
        if row.subject in failed_subjects:
            continue  # nothing may overtake a failed event of the same case
        try:
            if str(row.event_id) in unsent:
                raise sinks.SinkError(unsent[str(row.event_id)])
            if settings.NATS_URL:
                sinks.publish_nats(row.envelope())
        except sinks.SinkError as exc:
            log.warning("relay: %s %s not accepted: %s", row.type, row.event_id, exc)
            Outbox.objects.filter(seq=row.seq).update(last_error=str(exc)[:2000])
            failed_subjects.add(row.subject)
            continue
        published.append(row.seq)
    if published:
        # Bookkeeping (aiops.rows.relaxed_commit): a mark lost in a crash sends the rows
        # again, the inbox skips what was applied and NATS what it has (Nats-Msg-Id).
        now = timezone.now()
        delivered = {row.seq for row in rows if str(row.event_id) in done}
        for seqs, values in (
            ([seq for seq in published if seq in delivered], {"delivered_at": now}),
            ([seq for seq in published if seq not in delivered], {}),
        ):
            if seqs:
                aiops_rows.update_where(
                    Outbox,
                    {"published_at": now, "last_error": "", **values},
                    {"seq": seqs, "claimed_by": me},
                    bookkeeping=True,
                )
        metrics.outbox_published_total.inc(len(published))
    return len(published)


def send_deliveries(pairs: list[tuple[str, str, str]]) -> dict[str, str]:
    """Queue (subject, subscriber, event id) deliveries, given in outbox order, as
    `deliver_events` tasks of at most OUTBOX_DELIVERY_BATCH each; return {event id: error}
    for the events some of whose deliveries the broker refused.

    One task per batch, not per delivery: a Celery message, its acknowledgement and the
    event's row read cost more than most handlers. A case's deliveries stay together and in
    order where they fit in one task; a task applies them one after the other
    (apply_events: a case's consecutive ones in one transaction, each under a savepoint).
    """
    from apps.cases.tasks import deliver_events

    by_subject: dict[str, list[tuple[str, str]]] = {}
    for subject, subscriber, event_id in pairs:
        by_subject.setdefault(subject, []).append((subscriber, event_id))
    size = settings.OUTBOX_DELIVERY_BATCH
    batches: list[list[tuple[str, str]]] = [[]]
    for group in by_subject.values():
        if batches[-1] and len(batches[-1]) + len(group) > size:
            batches.append([])
        for pair in group:
            if len(batches[-1]) >= size:
                batches.append([])
            batches[-1].append(pair)
    unsent: dict[str, str] = {}
    for batch in filter(None, batches):
        try:
            deliver_events.apply_async(args=(batch,))
        except Exception as exc:  # the broker said no: these events stay unpublished
            unsent.update((event_id, f"broker: {exc}") for _, event_id in batch)
    return unsent


def confirm_deliveries(*, limit: int = 500) -> dict:
    """Check events published a while ago against the inbox: mark the fully applied ones
    delivered, and hand each missing (subscriber, event) pair to the broker again.

    The broker is not the record of truth: a worker killed between taking a message and
    acknowledging it can lose it. The inbox is, so this closes the loop at-least-once.
    """
    now = timezone.now()
    rows = (
        Outbox.objects.filter(
            published_at__isnull=False,
            delivered_at__isnull=True,
            published_at__lt=now - timedelta(seconds=settings.OUTBOX_REDELIVER_SECONDS),
        )
        .alias(due=next_resend("published_at", "resends", settings.OUTBOX_REDELIVER_SECONDS))
        .filter(due__lt=now)
    )
    waiting = oldest_waiting(settings.CONTROL_QUEUE)
    if waiting is not None:  # published after the oldest delivery still queued: behind it
        rows = rows.filter(published_at__lt=waiting)
    due = list(
        rows.order_by("seq").values_list("seq", "subject", "event_id", "type", "data")[:limit]
    )
    if not due:
        return {"delivered": 0, "resent": 0}
    applied: dict = {}
    for event_id, name in Inbox.objects.filter(event_id__in=[row[2] for row in due]).values_list(
        "event_id", "subscriber"
    ):
        applied.setdefault(str(event_id), set()).add(name)
    delivered, missing, seq_of = [], [], {}
    for seq, subject, event_id, event_type, data in due:
        event_id = str(event_id)
        names = [
            sub.name
            for sub in events.subscribers_for(event_type, data)
            if sub.name not in applied.get(event_id, set())
        ]
        if names:
            missing += [(subject, name, event_id) for name in names]
            seq_of[event_id] = seq
        else:
            delivered.append(seq)
    unsent = send_deliveries(missing)  # what the broker refused waits for the next sweep
    resent = [seq for event_id, seq in seq_of.items() if event_id not in unsent]
    Outbox.objects.filter(seq__in=delivered).update(delivered_at=now)
    # Their clock starts again: the resent tasks get the same grace as the first ones.
    Outbox.objects.filter(seq__in=resent).update(published_at=now, resends=F("resends") + 1)
    if resent:
        log.warning("relay: resent %d event(s) some subscriber had not applied", len(resent))
    return {"delivered": len(delivered), "resent": len(resent)}


def apply_events(
    pairs: list[tuple[str, str]], rows: dict[str, Outbox] | None = None
) -> list[tuple[str, str, Exception]]:
    """Apply (subscriber, event id) deliveries in order, the events' rows read at once
    (unless given, by event id); return the ones that raised, with the error (the others
    are applied, or were already).

    Consecutive deliveries of one case (one subject) share a transaction: one commit instead
    of one each (a park's subscribers, a backlog's events of a case). Deliveries of
    different cases never share one, so no case waits on another's handlers. A group runs
    first without savepoints (two round trips less per delivery) and with one inbox
    statement for all its deliveries; if anything in it raises,
    the whole transaction is rolled back and the group runs again with a savepoint per
    delivery, so the one that raises is rolled back alone and the rest commit. If that
    commit fails too, none of the group holds, and all are returned as failed.
    """
    if rows is None:
        ids = sorted({event_id for _, event_id in pairs})
        found = aiops_rows.select_where(Outbox, {"event_id": ids})
        rows = {str(row.event_id): row for row in found}

    def subject(pair: tuple[str, str]) -> str:
        row = rows.get(pair[1])
        return row.subject if row is not None else pair[1]

    failed: list[tuple[str, str, Exception]] = []
    for _, group in itertools.groupby(pairs, key=subject):
        group = list(group)
        if _applied_together(group, rows):
            continue
        before = len(failed)
        try:
            with transaction.atomic():
                for subscriber, event_id in group:
                    try:
                        apply_event(subscriber, event_id, row=rows.get(event_id))
                    except Exception as exc:
                        failed.append((subscriber, event_id, exc))
        except Exception as exc:  # the commit failed: nothing of the group holds
            del failed[before:]
            failed += [(subscriber, event_id, exc) for subscriber, event_id in group]
    return failed


def _applied_together(group: list[tuple[str, str]], rows: dict[str, Outbox]) -> bool:
    """Apply a case's deliveries in one transaction without savepoints, their inbox rows
    written by one statement; False, with nothing of them kept, if one raised or the
    commit failed."""
    wanted: dict[tuple[str, str], tuple[events.Subscriber, Outbox]] = {}
    for subscriber, event_id in group:
        sub, row = events.get_subscriber(subscriber), rows.get(event_id)
        if sub is not None and row is not None and sub.wants(row.data):
            wanted.setdefault((subscriber, event_id), (sub, row))
    try:
        with transaction.atomic():
            fresh = _inbox_insert_many(list(wanted))
            for pair, (sub, row) in wanted.items():
                if pair in fresh:  # the others were applied before: duplicates
                    _handle(sub, row)
    except Exception as exc:
        log.info(
            "delivery: %d of a case rolled back together (%r); each again alone", len(group), exc
        )
        return False
    return True


def apply_event(subscriber_name: str, event_id: str, *, row: Outbox | None = None) -> str:
    """Run one subscriber on one event exactly once (inbox row + effects, one transaction,
    or one savepoint of the caller's).
    The subscriber gets the typed event; an envelope that breaks its contract raises.
    `row` is the event's outbox row when the caller has read it."""
    sub = events.get_subscriber(subscriber_name)
    if sub is None:
        return "unknown-subscriber"
    if row is None:
        row = Outbox.objects.filter(event_id=event_id).first()
    if row is None:
        return "unknown-event"
    if not sub.wants(row.data):
        return "not-wanted"  # queued before the subscriber said what it wants
    with transaction.atomic():
        if not _inbox_insert(subscriber_name, event_id):
            return "duplicate"
        _handle(sub, row)
    return "applied"


def _handle(sub: events.Subscriber, row: Outbox) -> None:
    token = events.delivering.set(str(row.event_id))
    try:
        sub.handle(events.typed(row.envelope()))
    finally:
        events.delivering.reset(token)


def give_up(subscriber_name: str, event_id: str, error: str) -> None:
    """After the last retry: mark the event failed for this subscriber and park its case."""
    from apps.cases.services import case_park

    row = Outbox.objects.filter(event_id=event_id).first()
    with transaction.atomic():
        if not _inbox_insert(subscriber_name, event_id, outcome=Inbox.FAILED, error=error):
            return
        if row is not None and _looks_like_case_id(row.subject):
            case_park(
                case_id=row.subject,
                actor=f"system:{subscriber_name}",
                reason=f"handler {subscriber_name} failed on {row.type}: {error}"[:2000],
            )


def _inbox_insert(subscriber: str, event_id: str, outcome=Inbox.APPLIED, error="") -> bool:
    inserted = aiops_rows.run(
        "INSERT INTO inbox (subscriber, event_id, outcome, error, processed_at) "
        "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (subscriber, event_id) DO NOTHING "
        "RETURNING id",
        [subscriber, event_id, outcome, error, timezone.now()],
        aiops_rows.ONE,
    )
    return inserted is not None


def _inbox_insert_many(pairs: list[tuple[str, str]]) -> set[tuple[str, str]]:
    """Inbox rows (applied) for (subscriber, event id) pairs; returns the pairs that were
    not there yet."""
    if not pairs:
        return set()
    inserted = aiops_rows.run(
        "INSERT INTO inbox (subscriber, event_id, outcome, error, processed_at) "
        "SELECT s, e, %s, '', %s FROM unnest(%s::text[], %s::uuid[]) AS p(s, e) "
        "ON CONFLICT (subscriber, event_id) DO NOTHING RETURNING subscriber, event_id",
        [
            Inbox.APPLIED,
            timezone.now(),
            [subscriber for subscriber, _ in pairs],
            [event_id for _, event_id in pairs],
        ],
    )
    return {(subscriber, str(event_id)) for subscriber, event_id in inserted}


def _looks_like_case_id(subject: str) -> bool:
    try:
        uuid.UUID(subject)
    except ValueError:
        return False
    return True
