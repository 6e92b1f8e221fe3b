"""The Executor's events."""

from dataclasses import dataclass

from apps.cases.events import Event


@dataclass(frozen=True)
class StepFinished(Event):
    type = "evt.exec.step_result.v1"
    description = "One attempt of one step ended (or was refused before it started)."
    run_id: str
    step_id: str
    phase: str
    index: int
    attempt: int
    message_id: str
    adapter: str
    action: str
    status: str
    exit_code: int | None
    duration_s: float | None
    error: str


@dataclass(frozen=True)
class RunSucceeded(Event):
    type = "evt.exec.done.v1"
    description = "A run carried out every step of its plan (the Orchestrator fires exec_done)."
    run_id: str
    plan_id: str
    status: str


@dataclass(frozen=True)
class RunFailed(Event):
    type = "evt.exec.failed.v1"
    description = (
        "A run failed, rolled back, or was stopped (kill switch, approval no longer holding); "
        "the Orchestrator fires exec_failed and the case parks with `reason`."
    )
    run_id: str
    plan_id: str
    status: str
    reason: str
