"""Reads for the API, the admin and other modules."""

from django.core.exceptions import ValidationError

from aiops.prepared import prepared
from aiops.problems import NotFound
from apps.executor.models import ExecRun, ExecStep
from apps.planner.models import PlanProposed


def verified_run(case_id) -> ExecRun | None:
    """The case's latest run if it succeeded: what the Verifier judges (its plan document)."""
    latest = _latest_run_with_plan.first(case_id)
    return latest if latest is not None and latest.status == ExecRun.SUCCEEDED else None


@prepared
def _latest_run_with_plan(case_id):
    return (
        ExecRun.objects.select_related("plan").filter(case_id=case_id).order_by("-created_at")[:1]
    )


@prepared
def active_run(case_id):
    return ExecRun.objects.filter(case_id=case_id, status__in=ExecRun.ACTIVE).order_by("pk")[:1]


@prepared
def latest_run(case_id):
    return ExecRun.objects.filter(case_id=case_id).order_by("-created_at")[:1]


def run_get(run_id) -> ExecRun:
    try:
        return ExecRun.objects.prefetch_related("steps").get(pk=run_id)
    except (ExecRun.DoesNotExist, ValueError, ValidationError):
        raise NotFound(f"No run {run_id}.") from None


def step_get(step_pk) -> ExecStep:
    try:
        return ExecStep.objects.select_related("run").get(pk=int(step_pk))
    except (ExecStep.DoesNotExist, ValueError):
        raise NotFound(f"No step {step_pk}.") from None


def run_list(case_id=None):
    runs = ExecRun.objects.all()
    if case_id:
        runs = runs.filter(case_id=case_id)
    return runs


def plan_get(plan_id) -> PlanProposed:
    """A plan by id, for its preview."""
    try:
        return PlanProposed.objects.get(pk=plan_id)
    except (PlanProposed.DoesNotExist, ValueError, ValidationError):
        raise NotFound(f"No plan {plan_id}.") from None
