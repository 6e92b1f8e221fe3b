from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "apps.cases"
    label = "cases"
    verbose_name = "Orchestrator"

    def ready(self):
        from apps.cases import handlers  # noqa: F401 — registers the subscribers
