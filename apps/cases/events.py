"""Typed events and commands, `emit` into the outbox, and the subscriber registry (DESIGN §4).

Each producing app declares its payloads as `Event` subclasses (its own `events.py`); one
conversion goes to the CloudEvents envelope (`emit`) and one comes back (`from_envelope`).
Producers emit inside their write transaction; the relay delivers each event after commit
to every subscriber registered for its type (each as its own Celery task, deduplicated
through the inbox) and to NATS when configured. Subscribers receive the typed event.
"""

from __future__ import annotations

import contextvars
import dataclasses
import functools
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from aiops import rows
from aiops.commit import after_commit
from aiops.middleware import request_id_var
from apps.cases.models import Outbox


class ContractViolation(ValueError):
    """An envelope's data does not match its event class (missing, extra or mistyped field)."""


_EVENT_CLASSES: dict[str, type[Event]] = {}
_JSON_TYPES = {str: "string", int: "integer", float: "number", bool: "boolean"}


@dataclass(frozen=True)
class Event:
    """A typed payload. Subclasses are frozen dataclasses with a class attribute `type`
    (the CloudEvents type) and a `case_id` field (the envelope's subject)."""

    type: ClassVar[str] = ""
    description: ClassVar[str] = ""
    case_id: str

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("type"):
            _EVENT_CLASSES[cls.type] = cls

    def to_data(self) -> dict:
        return dataclasses.asdict(self)

    def emit(self, *, source: str = "") -> Outbox:
        return emit(type=self.type, subject=self.case_id, data=self.to_data(), source=source)

    @classmethod
    def from_data(cls, data: dict):
        """The typed payload of `data`; raises ContractViolation on any mismatch."""
        if not isinstance(data, dict):
            raise ContractViolation(f"{cls.type}: data is not an object")
        hints, names = _shape(cls)
        missing = [n for n in names if n not in data]
        extra = sorted(set(data) - set(names))
        if missing or extra:
            raise ContractViolation(f"{cls.type}: missing {missing}, unexpected {extra}")
        for name in names:
            if not _matches(data[name], hints[name]):
                raise ContractViolation(f"{cls.type}: {name}={data[name]!r} is not {hints[name]}")
        return cls(**{n: data[n] for n in names})

    @classmethod
    def from_envelope(cls, envelope: dict):
        return cls.from_data(envelope["data"])

    @classmethod
    def json_schema(cls) -> dict:
        """The JSON Schema of this payload (published in docs/events.md)."""
        hints = typing.get_type_hints(cls)
        fields = dataclasses.fields(cls)
        return {
            "type": "object",
            "required": [f.name for f in fields],
            "additionalProperties": False,
            "properties": {f.name: _schema_of(hints[f.name]) for f in fields},
        }


@functools.cache
def _shape(cls) -> tuple[dict, list[str]]:
    """(type hints, field names) of an event class: computed once per class, per process."""
    return typing.get_type_hints(cls), [f.name for f in dataclasses.fields(cls)]


def _matches(value, hint) -> bool:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_matches(value, arg) for arg in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if origin is list:
        (item,) = typing.get_args(hint) or (object,)
        return isinstance(value, list) and all(_matches(v, item) for v in value)
    if origin is dict or hint is dict:
        return isinstance(value, dict)
    if hint is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is object:
        return True
    return isinstance(value, hint)


def _schema_of(hint) -> dict:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return {"anyOf": [_schema_of(arg) for arg in typing.get_args(hint)]}
    if hint is type(None):
        return {"type": "null"}
    if origin is list:
        (item,) = typing.get_args(hint) or (object,)
        return {"type": "array", "items": _schema_of(item)}
    if origin is dict or hint is dict:
        return {"type": "object"}
    if hint in _JSON_TYPES:
        return {"type": _JSON_TYPES[hint]}
    return {}


def event_class(event_type: str) -> type[Event] | None:
    return _EVENT_CLASSES.get(event_type)


def event_classes() -> dict[str, type[Event]]:
    return dict(sorted(_EVENT_CLASSES.items()))


def typed(envelope: dict) -> Event:
    """The typed event of an outbox envelope; ContractViolation for an unknown type."""
    cls = _EVENT_CLASSES.get(envelope["type"])
    if cls is None:
        raise ContractViolation(f"no event class declares {envelope['type']}")
    event = cls.from_envelope(envelope)
    if event.case_id != envelope["subject"]:
        raise ContractViolation(f"{cls.type}: case_id differs from the envelope's subject")
    return event


# --- the Orchestrator's own events and commands ---


@dataclass(frozen=True)
class CaseTransitioned(Event):
    type = "evt.case.transition.v1"
    description = "A case changed state (or was created: event 'create', from '')."
    event: str
    from_state: str
    to_state: str
    version: int
    actor: str
    reason: str
    service: str
    environment: str


@dataclass(frozen=True)
class Command(Event):
    """What a state asks of a module on entry (workflow.ON_ENTRY). `case_version` is the
    version that asked: a module acts only while the case is still at it, so a command that
    arrives after the case moved on (parked, re-planned) changes nothing."""

    case_version: int
    state: str
    service: str
    environment: str
    autopilot: str


@dataclass(frozen=True)
class AnalysisRequested(Command):
    type = "cmd.analysis.run.v1"
    description = "ANALYZING asks the Analyst for the case's findings."


@dataclass(frozen=True)
class PlanRequested(Command):
    type = "cmd.plan.propose.v1"
    description = "PLANNING asks the Planner to propose a plan (template, finding, or wait)."


@dataclass(frozen=True)
class GateRequested(Command):
    type = "cmd.gate.evaluate.v1"
    description = "WAIT_GATE asks the Gatekeeper to judge the latest plan."


@dataclass(frozen=True)
class ExecutionRequested(Command):
    type = "cmd.exec.start.v1"
    description = "EXECUTING asks the Executor to start a run of the approved plan."


@dataclass(frozen=True)
class VerificationRequested(Command):
    type = "cmd.verify.schedule.v1"
    description = "VERIFYING asks the Verifier to schedule the verification of the run."


@dataclass(frozen=True)
class RollbackRequested(Command):
    type = "cmd.exec.rollback.v1"
    description = (
        "A verification failed: the Executor runs the rollback steps of the run it judged "
        "(`run_id`), by the policy's on_verify_fail: rollback or a person's decision."
    )
    run_id: str
    requested_by: str


COMMANDS: dict[str, type[Command]] = {
    cls.type: cls
    for cls in (
        AnalysisRequested,
        PlanRequested,
        GateRequested,
        ExecutionRequested,
        VerificationRequested,
    )
}


def emit(*, type: str, subject: str, data: dict, source: str = "") -> Outbox:
    """Write one event to the outbox in the caller's transaction; kick the relay on commit."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("emit() must run inside the producer's transaction")
    # An event no sink takes (no NATS, and no subscriber that wants it: the relay judges the
    # same `when` on the same data) is recorded as delivered at once. The relay would only
    # mark it so, one relay run later: every executor step result, and every transition no
    # module acts on (into PLANNING, EXECUTING, VERIFYING).
    now = None if settings.NATS_URL or subscribers_for(type, data) else timezone.now()
    row = rows.insert(
        Outbox(
            type=type,
            subject=str(subject),
            data=data,
            source=source or settings.EVENT_SOURCE,
            request_id=request_id_var.get() if request_id_var.get() != "-" else "",
            published_at=now,
            delivered_at=now,
        )
    )
    if now is not None:
        return row
    # One kick per transaction: it relays what the transaction committed.
    connection = transaction.get_connection()
    kicks = (getattr(callback, "__wrapped__", None) for _, callback, _ in connection.run_on_commit)
    kick = next((k for k in kicks if isinstance(k, _Kick)), None)
    if kick is None:
        kick = _Kick()
        after_commit(kick, what="relaying the committed events")
    kick.seqs.append(row.seq)
    return row


class _Kick:
    """After commit: relay the transaction's events (apps.cases.relay.relay_committed)."""

    def __init__(self):
        self.seqs: list[int] = []

    def __call__(self) -> None:
        from apps.cases.relay import relay_committed

        relay_committed(self.seqs)


class When:
    """Which events of its types a subscriber wants, judged on the event's data before a
    delivery is queued. Most subscribers of a case transition care about one or two states;
    each delivery is a broker message and a transaction, so the rest are not sent at all.
    The test must read the data alone: the writer judges it too (`emit`), and stores an event
    no subscriber wants as already delivered."""

    def __init__(self, label: str, test: Callable[[dict], bool]):
        self.label, self.test = label, test

    def __call__(self, data: dict) -> bool:
        return self.test(data)

    def __str__(self) -> str:
        return self.label


def entering(*states: str, leaving: tuple[str, ...] = ()) -> When:
    """For CaseTransitioned: the case entered one of `states` (from one of `leaving`)."""
    wanted, left = frozenset(states), frozenset(leaving)
    label = f"entering {'/'.join(states)}" + (f" from {'/'.join(leaving)}" if leaving else "")
    return When(
        label,
        lambda data: (
            data.get("to_state") in wanted and (not left or data.get("from_state") in left)
        ),
    )


@dataclass(frozen=True)
class Subscriber:
    name: str
    types: frozenset[str]
    handle: Callable[[Event], None]
    when: When | None = None

    def wants(self, data: dict) -> bool:
        return self.when is None or self.when(data)


_SUBSCRIBERS: dict[str, Subscriber] = {}
# The id of the event a subscriber is handling (for handlers that key effects on it).
delivering: contextvars.ContextVar[str] = contextvars.ContextVar("delivering", default="")


def subscriber(name: str, *event_types: str | type[Event], when: When | None = None):
    """Register `fn(event)` for event types (names or Event classes); it receives the typed
    event, only for events `when` accepts (all, without it). It runs in a transaction with
    its inbox row, so it must write only through services and must not do external I/O."""
    names = frozenset(t if isinstance(t, str) else t.type for t in event_types)

    def register(fn):
        _SUBSCRIBERS[name] = Subscriber(name=name, types=names, handle=fn, when=when)
        return fn

    return register


def subscribers_for(event_type: str, data: dict | None = None) -> list[Subscriber]:
    """The subscribers of `event_type`; given the event's data, only those that want it."""
    return [
        s
        for s in _SUBSCRIBERS.values()
        if event_type in s.types and (data is None or s.wants(data))
    ]


def get_subscriber(name: str) -> Subscriber | None:
    return _SUBSCRIBERS.get(name)
