"""The gate_approved guard: an approval exists for the latest plan revision."""

from apps.gate.selectors import approved_plan


def gate_approved(case) -> str | None:
    if approved_plan(case.pk) is None:
        return "the latest plan revision has no approval"
    return None
