"""The exec_done guard: the case's latest run has succeeded."""

from apps.executor.models import ExecRun


def exec_done(case) -> str | None:
    run = ExecRun.objects.filter(case_id=case.pk).order_by("-created_at").first()
    if run is None:
        return "no execution run exists for this case"
    if run.status != ExecRun.SUCCEEDED:
        return f"the latest execution run is {run.status}, not succeeded"
    return None
