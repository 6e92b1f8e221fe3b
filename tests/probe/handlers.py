"""Two subscribers of a test event type; `fail` in the data makes one raise every time."""

import os
import threading
import time
from dataclasses import dataclass

from apps.cases import events
from tests.probe.models import ProbeApplication


@dataclass(frozen=True)
class Probe(events.Event):
    type = "evt.test.probe.v1"
    description = "Test only: counts deliveries."
    n: int = 0
    fail: str = ""
    sleep: float = 0
    # probe.a commits another probe event (n + 1) from a thread of its own, as a writer
    # elsewhere would, while it handles this one, and waits for that commit.
    spawn: bool = False


PROBE_EVENT = Probe.type


def _apply(name: str, event: Probe, event_id: str) -> None:
    if event.fail == name:
        raise RuntimeError(f"probe {name} told to fail")
    if event.sleep:
        time.sleep(event.sleep)
    ProbeApplication.objects.create(subscriber=name, event_id=event_id, applied_by_pid=os.getpid())


@events.subscriber("probe.a", Probe)
def probe_a(event: Probe):
    _apply("probe.a", event, events.delivering.get())
    if event.spawn:
        writer = threading.Thread(target=_write_another, args=(event,))
        writer.start()
        writer.join()


def _write_another(event: Probe) -> None:
    from django.db import connection, transaction

    try:
        with transaction.atomic():
            Probe(case_id=event.case_id, n=event.n + 1).emit()
    finally:
        connection.close()


@events.subscriber("probe.b", Probe)
def probe_b(event: Probe):
    _apply("probe.b", event, events.delivering.get())
