"""The Executor's part of a closed case's summary, and its step logs' retention."""

import logging
import shutil
import time
from collections import defaultdict
from pathlib import Path

from django.conf import settings

from aiops.prepared import prepared
from apps.cases.archive import summary_part
from apps.cases.retention import retention_step
from apps.executor.models import ExecRun, ExecStep

log = logging.getLogger(__name__)


@prepared
def _runs(case_id):
    return ExecRun.objects.filter(case_id=case_id).order_by("created_at")


@prepared
def _steps(case_id):
    return ExecStep.objects.filter(run__case_id=case_id).order_by("id")


@summary_part("runs")
def runs(case) -> list[dict]:
    by_run = defaultdict(list)
    for step in _steps(case.pk):
        by_run[step.run_id].append(step)
    out = []
    for run in _runs(case.pk):
        steps = by_run[run.pk]
        out.append(
            {
                "status": run.status,
                "reason": run.reason,
                "steps": [
                    {
                        "step": s.step_id,
                        "phase": s.phase,
                        "attempt": s.attempt,
                        "status": s.status,
                        "seconds": (s.finished_at - s.started_at).total_seconds()
                        if s.started_at and s.finished_at
                        else None,
                        "error": s.error[:500],
                    }
                    for s in steps
                ],
            }
        )
    return out


@retention_step("step-logs")
def step_logs_expire(now) -> int:
    """Run directories of step output untouched for RETAIN_STEP_LOGS_DAYS (by mtime)."""
    root = Path(settings.EXEC_LOG_DIR)
    if not root.is_dir():
        return 0
    cutoff = time.time() - settings.RETAIN_STEP_LOGS_DAYS * 86400
    removed = 0
    for run_dir in root.iterdir():
        try:
            newest = max(
                (f.stat().st_mtime for f in run_dir.iterdir()), default=run_dir.stat().st_mtime
            )
        except OSError:
            continue
        if run_dir.is_dir() and newest < cutoff:
            shutil.rmtree(run_dir, ignore_errors=True)
            removed += 1
    return removed
