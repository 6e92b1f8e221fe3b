from django.apps import AppConfig


class AnalystConfig(AppConfig):
    name = "apps.analyst"
    label = "analyst"
    verbose_name = "Analyst"

    def ready(self):
        from apps.analyst import (
            handlers,  # noqa: F401 — registers the subscriber
            summary,  # noqa: F401 — its summary part and retention
        )
