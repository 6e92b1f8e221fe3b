"""Two subscribers of a test event type; `fail` in the data makes one raise every time."""

import os
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


@events.subscriber("probe.b", Probe)
def probe_b(event: Probe):
    _apply("probe.b", event, events.delivering.get())
