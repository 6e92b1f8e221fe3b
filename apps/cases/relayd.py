"""The relay process (`manage.py relay`, the `relay` role; settings.OUTBOX_RELAY_PROCESS).

One long-lived process waits on Redis for writers' wakes (relay.wake) and drains the outbox
as a relay task would (tasks.drain), applying the deliveries of a short batch itself. Under
load a relay task ran once per commit that wrote an event: a Celery message from the web, a
hop through the pool, an ack, and a database ping before each task. Here a wake is one Redis
round trip, and commits that land during a run share the next one.

Failure: a process killed mid-run leaves its claim to expire (settings.OUTBOX_CLAIM_SECONDS);
the next run, here after a restart or in a relay task (beat's sweep), sends the batch again,
and the inbox makes what was applied a no-op. More than one relay process may run: claims are
taken with SKIP LOCKED, and a wake goes to one of them.
"""

from __future__ import annotations

import logging
import signal
import threading
import time

from django import db
from django.conf import settings
from django.dispatch import Signal

from apps.cases import relay
from apps.cases.tasks import drain

log = logging.getLogger(__name__)

# Sent once as the relay process starts, before it serves: an app whose subscribers it will
# run prepares what they need (the Librarian loads its embedding model, apps.kb.apps).
process_starting = Signal()

BACKOFF_MAX = 30.0  # seconds between runs while they keep failing (the database is down)
CONNECTION_CHECK_EVERY = 1.0  # seconds: how often the connection's age and health are checked


def serve(stop: threading.Event) -> None:
    """Relay until `stop` is set; a run in progress finishes first."""
    import redis

    idle = settings.OUTBOX_RELAY_IDLE_LOOK
    # Its own client: BLPOP blocks for up to `idle` seconds, longer than writers' timeout.
    client = relay.redis_client(socket_timeout=idle + 5)
    linger = settings.OUTBOX_RELAY_LINGER_MS / 1000
    failures, checked, busy_since = 0, 0.0, float("-inf")
    log.info("relay: ready; woken on commit, looking at least every %.1f s", idle)
    while not stop.is_set():
        try:
            relay.wait_for_wake(client, idle)
        except redis.RedisError as exc:
            log.warning("relay: cannot wait on Redis (%s); looking every %.1f s", exc, idle)
            stop.wait(idle)
        if stop.is_set():
            break
        # Under a stream of events a wake comes with nearly every commit: one run each would
        # pay its claims and its mark for one event. A run that follows one that published
        # waits until `linger` after that one's start, and takes what came meanwhile. The
        # first event after a quiet spell is relayed at once.
        pause = busy_since + linger - time.monotonic()
        if pause > 0:
            stop.wait(pause)
        now = time.monotonic()
        if now - checked >= CONNECTION_CHECK_EVERY:
            # What a request or a task does first (close_old_connections): a connection past
            # DB_CONN_MAX_AGE, or broken, is replaced. Once a second, not once a wake: with
            # health checks on, each check costs a round trip.
            db.close_old_connections()
            checked = now
        try:
            published = drain(kick_flag=False)
            busy_since = now if published else float("-inf")
        except Exception:
            failures += 1
            delay = min(BACKOFF_MAX, 0.5 * 2 ** (failures - 1))
            log.exception("relay: a run failed (%d in a row); next in %.1f s", failures, delay)
            db.connection.close()
            stop.wait(delay)
        else:
            failures = 0
    log.info("relay: stopped")


def stop_on_signals() -> threading.Event:
    """An event set by SIGTERM or SIGINT: the run in progress finishes, its claim committed."""
    stop = threading.Event()

    def handle(signum, frame):
        log.info("relay: %s received, stopping after this run", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)
    return stop
