from django.apps import AppConfig


class PlannerConfig(AppConfig):
    name = "apps.planner"
    label = "planner"
    verbose_name = "Planner"

    def ready(self):
        from apps.cases.guards import register_guard
        from apps.planner import (
            handlers,  # noqa: F401 — registers the subscriber
            summary,  # noqa: F401 — its summary part and retention
        )
        from apps.planner.guards import plan_ready

        register_guard("plan_ready", plan_ready)
