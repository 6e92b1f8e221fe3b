"""How far the loop may run by itself in an environment, as the gate's policy says.

The Gatekeeper owns the policy and registers the lookup at start-up; the Orchestrator asks
it when a case enters a state (apps.cases.workflow.ON_ENTRY). With nothing registered the
answer is manual: a missing module never lets the loop drive itself.
"""

from collections.abc import Callable

from apps.cases import workflow as wf

_lookup: Callable[[str], str] | None = None


def register(fn: Callable[[str], str]) -> None:
    global _lookup
    _lookup = fn


def mode_for(environment: str) -> str:
    if _lookup is None:
        return wf.AUTOPILOT_MANUAL
    mode = _lookup(environment)
    return mode if mode in wf.AUTOPILOT_MODES else wf.AUTOPILOT_MANUAL
