"""Event types, `emit` into the outbox, and the in-process subscriber registry (DESIGN §4).

Producers call `emit()` inside their write transaction; the relay delivers each event
after commit to every subscriber registered for its type (each as its own Celery task,
deduplicated through the inbox) and to NATS when configured.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction

from aiops.middleware import request_id_var
from apps.cases.models import Outbox

CASE_TRANSITION = "evt.case.transition.v1"
PLAN_PROPOSED = "evt.plan.proposed.v1"
PLAN_APPROVED = "evt.plan.approved.v1"
GATE_DECISION = "evt.gate.decision.v1"
EXEC_STEP_RESULT = "evt.exec.step_result.v1"
EXEC_DONE = "evt.exec.done.v1"
EXEC_FAILED = "evt.exec.failed.v1"
VERIFY_RESULT = "evt.verify.result.v1"
ANALYSIS_FINDINGS = "evt.analysis.findings.v1"


def emit(*, type: str, subject: str, data: dict, source: str = "") -> Outbox:
    """Write one event to the outbox in the caller's transaction; kick the relay on commit."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("emit() must run inside the producer's transaction")
    row = Outbox.objects.create(
        type=type,
        subject=str(subject),
        data=data,
        source=source or settings.EVENT_SOURCE,
        request_id=request_id_var.get() if request_id_var.get() != "-" else "",
    )
    connection = transaction.get_connection()
    # One kick per transaction is enough: the relay drains everything committed.
    if not any(callback is _kick_relay for _, callback, _ in connection.run_on_commit):
        transaction.on_commit(_kick_relay)
    return row


def _kick_relay() -> None:
    from apps.cases.relay import request_relay

    request_relay()


@dataclass(frozen=True)
class Subscriber:
    name: str
    types: frozenset[str]
    handle: Callable[[dict], None]


_SUBSCRIBERS: dict[str, Subscriber] = {}


def subscriber(name: str, *types: str):
    """Register `fn(envelope)` for event `types`. It runs in a transaction with its inbox row,
    so it must write only through services and must not do external I/O itself."""

    def register(fn):
        _SUBSCRIBERS[name] = Subscriber(name=name, types=frozenset(types), handle=fn)
        return fn

    return register


def subscribers_for(event_type: str) -> list[Subscriber]:
    return [s for s in _SUBSCRIBERS.values() if event_type in s.types]


def get_subscriber(name: str) -> Subscriber | None:
    return _SUBSCRIBERS.get(name)
