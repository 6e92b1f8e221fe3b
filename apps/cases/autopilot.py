"""How far the loop may run by itself in an environment, as the gate's policy says.

The Gatekeeper owns the policy and registers the lookups at start-up; the Orchestrator asks
them when a case enters a state (apps.cases.workflow.ON_ENTRY) and when a verification
fails (roll back, or pause for a person). With nothing registered the answers are manual
and pause: a missing module never lets the loop drive itself.
"""

from collections.abc import Callable

from apps.cases import workflow as wf

_lookup: Callable[[str], str] | None = None
_verify_fail_lookup: Callable[[str], str] | None = None


def register(fn: Callable[[str], str]) -> None:
    global _lookup
    _lookup = fn


def mode_for(environment: str) -> str:
    if _lookup is None:
        return wf.AUTOPILOT_MANUAL
    mode = _lookup(environment)
    return mode if mode in wf.AUTOPILOT_MODES else wf.AUTOPILOT_MANUAL


def register_on_verify_fail(fn: Callable[[str], str]) -> None:
    global _verify_fail_lookup
    _verify_fail_lookup = fn


def on_verify_fail(environment: str) -> str:
    """rollback (the plan's rollback steps run at once) or pause (a person decides)."""
    if _verify_fail_lookup is None:
        return wf.VERIFY_FAIL_PAUSE
    mode = _verify_fail_lookup(environment)
    return mode if mode in wf.VERIFY_FAIL_MODES else wf.VERIFY_FAIL_PAUSE
