"""The defaults every plan the Planner stores gets, from settings (environment)."""

from django.conf import settings

from apps.planner.dsl import PlanDefaults


def plan_defaults() -> PlanDefaults:
    """AIOPS_STEP_TIMEOUT_S, AIOPS_VERIFY_DELAY_S, AIOPS_VERIFY_WINDOW_S, AIOPS_VERIFY_NO_DATA
    as `dsl.normalize` takes them. Read per call, so a changed setting applies at once."""
    return PlanDefaults(
        step_timeout_s=settings.EXEC_DEFAULT_STEP_TIMEOUT_S,
        verify_delay_s=settings.VERIFY_DEFAULT_DELAY_S,
        verify_window_s=settings.VERIFY_DEFAULT_WINDOW_S,
        check_no_data=settings.VERIFY_DEFAULT_NO_DATA,
    )
