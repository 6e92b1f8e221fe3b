"""Executor subscribers: parking a case cancels its run."""

from apps.cases import events
from apps.cases.workflow import PARKED
from apps.executor import services


@events.subscriber("executor.cancel_on_park", events.CASE_TRANSITION)
def on_case_transition(envelope: dict) -> None:
    data = envelope["data"]
    if data.get("to") != PARKED:
        return
    services.run_cancel(case_id=envelope["subject"], reason=data.get("reason") or "case parked")
