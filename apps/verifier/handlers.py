"""The Verifier's subscriber: a case entering VERIFYING gets its verification scheduled."""

from apps.cases import events
from apps.cases import workflow as wf
from apps.verifier import services


@events.subscriber("verifier.schedule", events.CASE_TRANSITION)
def on_case_transition(envelope: dict) -> None:
    if envelope["data"].get("to") != wf.VERIFYING:
        return
    services.verification_schedule(case_id=envelope["subject"])
