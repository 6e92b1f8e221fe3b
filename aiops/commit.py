"""After-commit effects that must never undo a committed write's success.

A write commits, then tells the broker (kick the relay, queue a step or a verification). When
the broker is down the write still stands and its client gets its answer: what the message
would have started, the periodic sweeps start later (the relay's sweep, the step sweeper, the
verification sweep), all of them reading the database, never the lost message.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import transaction

log = logging.getLogger(__name__)


def after_commit(func: Callable[[], object], *, what: str) -> None:
    """Run `func` once the caller's transaction commits; log, never raise, if it fails."""

    def run() -> None:
        try:
            func()
        except Exception as exc:  # the broker down, mostly: the sweeps catch up
            log.warning(
                "%s after commit failed (%s: %s); a periodic sweep will catch up",
                what,
                type(exc).__name__,
                exc,
            )

    run.__wrapped__ = func  # so a caller can tell it is already registered (one kick per commit)
    transaction.on_commit(run)
