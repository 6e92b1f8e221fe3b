"""The gate_approved guard: a live approval was given at the case's current version."""

from apps.gate.selectors import live_approval


def gate_approved(case) -> str | None:
    if live_approval(case) is None:
        return "the latest plan revision has no live approval given at this case version"
    return None
