"""The Verifier's events."""

from dataclasses import dataclass

from apps.cases.events import Event


@dataclass(frozen=True)
class VerificationDone(Event):
    type = "evt.verify.result.v1"
    description = (
        "The verdict of a verification: passed → verify_pass (CLOSED), otherwise verify_failed "
        "(PARKED); one checkpoint per check, with the sentence a person reads."
    )
    verification_id: str
    run_id: str
    passed: bool
    summary: str
    checkpoints: list[dict]
