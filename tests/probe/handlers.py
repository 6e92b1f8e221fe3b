"""Two subscribers of a test event type; `fail` in the data makes one raise every time."""

import os
import time

from apps.cases import events
from tests.probe.models import ProbeApplication

PROBE_EVENT = "evt.test.probe.v1"


def _apply(name: str, envelope: dict) -> None:
    data = envelope["data"]
    if data.get("fail") == name:
        raise RuntimeError(f"probe {name} told to fail")
    if data.get("sleep"):
        time.sleep(float(data["sleep"]))
    ProbeApplication.objects.create(
        subscriber=name, event_id=envelope["id"], applied_by_pid=os.getpid()
    )


@events.subscriber("probe.a", PROBE_EVENT)
def probe_a(envelope):
    _apply("probe.a", envelope)


@events.subscriber("probe.b", PROBE_EVENT)
def probe_b(envelope):
    _apply("probe.b", envelope)
