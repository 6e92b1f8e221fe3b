"""The Verifier's part of a closed case's summary (apps.cases.archive)."""

from apps.cases.archive import summary_part


@summary_part("verification")
def checkpoints(case) -> list[dict]:
    return [
        {"check": c.check_name, "result": c.result, "dry_run": c.dry_run, "sentence": c.sentence}
        for c in case.checkpoints.order_by("created_at", "position")
    ]
