"""The Verifier's subscriber: VERIFYING asks for a verification of the run that succeeded."""

from apps.cases import events
from apps.verifier import services


@events.subscriber("verifier.schedule", events.VerificationRequested)
def on_verification_requested(command) -> None:
    services.verification_schedule(case_id=command.case_id, case_version=command.case_version)
