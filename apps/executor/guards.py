"""The exec_done guard: the case's latest run has succeeded."""

from apps.executor.models import ExecRun
from apps.executor.selectors import latest_run


def exec_done(case) -> str | None:
    run = latest_run.first(case.pk)
    if run is None:
        return "no execution run exists for this case"
    if run.status != ExecRun.SUCCEEDED:
        return f"the latest execution run is {run.status}, not succeeded"
    return None
