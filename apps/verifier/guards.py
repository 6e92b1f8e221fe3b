"""The verify_pass guard: VERIFYING → CLOSED only on a passing verification."""

from apps.verifier.evaluate import PASS
from apps.verifier.selectors import latest_verification


def verify_pass(case) -> str | None:
    """Passes when the case's latest verification has at least one deciding checkpoint and
    every deciding checkpoint passed (dry-run checkpoints never count)."""
    checkpoints = latest_verification(case)
    if not checkpoints:
        return "no verification has run for this case"
    deciding = [c for c in checkpoints if c.deciding]
    if not deciding:
        return "the latest verification has no deciding check (all are dry_run)"
    unmet = [c for c in deciding if c.result != PASS]
    if unmet:
        return "; ".join(f"check '{c.check_name}' {c.result}: {c.sentence}" for c in unmet)
    return None
