"""The Verifier's part of a closed case's summary (apps.cases.archive)."""

from aiops.prepared import prepared
from apps.cases.archive import summary_part
from apps.verifier.models import VerifyCheckpoint


@prepared
def _checkpoints(case_id):
    return VerifyCheckpoint.objects.filter(case_id=case_id).order_by("created_at", "position")


@summary_part("verification")
def checkpoints(case) -> list[dict]:
    return [
        {"check": c.check_name, "result": c.result, "dry_run": c.dry_run, "sentence": c.sentence}
        for c in _checkpoints(case.pk)
    ]
